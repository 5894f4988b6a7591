// Untrusted JavaScript runs here and nowhere else: a QuickJS interpreter (WebAssembly) inside a
// separate sandbox process (see ../sandbox/), with a memory limit and a deadline of its own.
import { runSandboxed } from "../sandbox/sandbox-pool.js";
import type { SandboxOutcome } from "../sandbox/sandbox-process.js";

/** Limits of one run. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 1000, memoryBytes: 32 * 2 ** 20 };

/** The outcome of running code: ok with its JSON-like value, or why not (its error, deadline, memory, or the sandbox). */
export type SandboxResult = SandboxOutcome;

/** Evaluate `code` in a fresh QuickJS context; the value of its last expression is returned when it is JSON-like. */
export function runInSandbox(code: string, limits: SandboxLimits = DEFAULT_LIMITS): Promise<SandboxResult> {
  return runSandboxed("javascript", code, limits);
}
