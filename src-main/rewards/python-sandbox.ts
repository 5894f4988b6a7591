// Untrusted Python runs here: CPython compiled to WebAssembly (Pyodide) inside a separate sandbox
// process (see ../sandbox/): no host files, processes or network, and no JS object reachable
// from Python. A deadline ends the process; a fresh one serves the next request.
import { closeSandboxes, runSandboxed } from "../sandbox/sandbox-pool.js";
import type { SandboxOutcome } from "../sandbox/sandbox-process.js";

/** The outcome of running Python code: ok unless it raised, timed out, ran out of memory or could not run. */
export type PythonResult = SandboxOutcome;

/** Run `code`; ok unless it raises. The deadline starts when a sandbox process takes the request (Pyodide's load is not counted). */
export function runPython(code: string, timeoutMs = 10_000): Promise<PythonResult> {
  return runSandboxed("python", code, { timeoutMs });
}

/** Stop the sandbox processes (tests, shutdown). */
export function closePythonSandbox(): Promise<void> {
  return closeSandboxes();
}
