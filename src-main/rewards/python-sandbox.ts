// Untrusted Python runs here: CPython compiled to WebAssembly (Pyodide) inside a worker thread.
// Its file system is an in-memory one, its `js` module is an empty object instead of Node's
// globals, the Pyodide API module is removed before user code runs, and a deadline terminates
// the worker (a fresh one starts for the next run).
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Worker } from "node:worker_threads";

const resolveModule = createRequire(import.meta.url);

// Plain JS, evaluated as the worker's module: loads Pyodide once, then runs each request in a fresh namespace.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { loadPyodide } = require(workerData.pyodide);
const ready = loadPyodide({ indexURL: workerData.indexURL, jsglobals: {}, stdout: () => {}, stderr: () => {} }).then((py) => {
  py.runPython("import sys\\nfor m in ('js', 'pyodide_js', 'pyodide.ffi', 'pyodide.code', 'pyodide.http', 'micropip'):\\n    sys.modules[m] = None");
  return py;
});
parentPort.on("message", async ({ id, code }) => {
  const py = await ready;
  const ns = py.globals.get("dict")();
  try {
    py.runPython(code, { globals: ns });
    parentPort.postMessage({ id, ok: true });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: String(e.message ?? e).split("\\n").filter(Boolean).slice(-1)[0] });
  } finally {
    ns.destroy();
  }
});
`;

/** The outcome of running Python code. */
export type PythonResult = { ok: true } | { ok: false; error: string };

interface SandboxWorker {
  thread: Worker;
  /** Requests this worker owes an answer, by id. */
  pending: Map<number, (r: PythonResult) => void>;
}

let worker: SandboxWorker | null = null;
let nextId = 0;

function getWorker(): SandboxWorker {
  if (worker) return worker;
  const pyodide = resolveModule.resolve("pyodide");
  const thread = new Worker(WORKER, { eval: true, workerData: { pyodide, indexURL: dirname(pyodide) + "/" }, resourceLimits: { maxOldGenerationSizeMb: 512 } });
  const w: SandboxWorker = { thread, pending: new Map() };
  const failAll = (error: string): void => {
    for (const resolve of w.pending.values()) resolve({ ok: false, error });
    w.pending.clear();
  };
  thread.on("message", (m: { id: number } & PythonResult) => {
    w.pending.get(m.id)?.(m.ok ? { ok: true } : { ok: false, error: (m as { error: string }).error });
    w.pending.delete(m.id);
  });
  thread.on("error", (e) => failAll(`the Python sandbox failed: ${e.message}`));
  thread.on("exit", () => {
    if (worker === w) worker = null;
    failAll("the Python sandbox stopped");
  });
  thread.unref();
  worker = w;
  return w;
}

/**
 * Run `code`; ok unless it raises. The deadline includes Pyodide's first load (about 3 s), so the
 * first call should allow for it.
 */
export function runPython(code: string, timeoutMs = 10_000): Promise<PythonResult> {
  const w = getWorker();
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      w.pending.delete(id);
      resolve({ ok: false, error: `timed out after ${timeoutMs} ms` });
      // A runaway loop cannot be interrupted from outside: end the worker; the next run starts a new one.
      if (worker === w) worker = null;
      void w.thread.terminate();
    }, timeoutMs);
    w.pending.set(id, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    w.thread.postMessage({ id, code });
  });
}

/** Stop the worker (tests, shutdown). */
export async function closePythonSandbox(): Promise<void> {
  const w = worker;
  worker = null;
  if (w) await w.thread.terminate();
}
