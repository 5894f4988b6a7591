// Untrusted JavaScript runs here and nowhere else: a QuickJS interpreter compiled to WebAssembly,
// with no file, network or process access, a memory limit and a deadline.
import { getQuickJS, shouldInterruptAfterDeadline, type QuickJSWASMModule } from "quickjs-emscripten";

let quickjs: Promise<QuickJSWASMModule> | null = null;

/** Limits of one run. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 1000, memoryBytes: 32 * 2 ** 20 };

/** The outcome of running code: ok, or the error it threw (timeouts and out-of-memory included). */
export type SandboxResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Evaluate `code` in a fresh QuickJS context; the value of its last expression is returned when it is JSON-like. */
export async function runInSandbox(code: string, limits: SandboxLimits = DEFAULT_LIMITS): Promise<SandboxResult> {
  quickjs ??= getQuickJS();
  const runtime = (await quickjs).newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(1024 * 1024);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + limits.timeoutMs));
  const vm = runtime.newContext();
  try {
    const result = vm.evalCode(code, "completion.js");
    if (result.error) {
      const error = vm.dump(result.error) as { message?: string; name?: string } | string;
      result.error.dispose();
      return { ok: false, error: typeof error === "string" ? error : `${error.name ?? "Error"}: ${error.message ?? String(error)}` };
    }
    const value = vm.dump(result.value) as unknown;
    result.value.dispose();
    return { ok: true, value };
  } finally {
    vm.dispose();
    runtime.dispose();
  }
}
