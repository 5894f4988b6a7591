// The program a sandbox process runs (`node -e`, CommonJS). It loads one runtime (QuickJS or
// Pyodide), then answers one request at a time over the IPC channel. It is the inner wall only: the
// outer wall is the process itself, started by sandbox-process.ts with Node's permission model
// (no writes, reads of the runtime's own files only, no child processes, no workers), code
// generation from strings disabled, an empty environment, and killed at each deadline.

/** Settings the parent passes as the child's only argument (JSON). */
export interface ChildConfig {
  language: "javascript" | "python";
  /** Absolute paths of the runtime's entry modules. */
  modules: Record<string, string>;
  /** Directory Pyodide loads its files from (python only). */
  pyodideDir?: string;
  /** Ceiling for any WebAssembly memory in the process, in bytes. */
  wasmMemoryBytes: number;
  /** After a request, the child exits (to be replaced) once its WebAssembly memory exceeds this. */
  recycleAboveBytes: number;
}

/** One request: run `code` (limits apply to JavaScript's interpreter; Python relies on the parent's deadline). */
export interface ChildRequest {
  id: number;
  code: string;
  timeoutMs: number;
  memoryBytes: number;
}

/** One answer; `recycle` tells the parent the child exits after this reply. */
export type ChildReply =
  | { type: "ready" }
  | { type: "result"; id: number; ok: true; value: unknown; recycle: boolean }
  | { type: "result"; id: number; ok: false; error: string; kind: "error" | "timeout" | "memory"; recycle: boolean };

// Plain JS: it runs as-is in the child. Kept in one string so that it works the same bundled (CLI,
// Electron) and unbundled (tests), and needs no file of its own on disk.
export const CHILD_PROGRAM = String.raw`
"use strict";
const config = JSON.parse(process.argv[1]);
const send = process.send.bind(process);
process.on("disconnect", () => process.exit(0));

// Every WebAssembly heap here grows through Memory.prototype.grow (Emscripten's resize_heap):
// refusing past the cap makes an allocation fail inside the runtime (MemoryError / out of memory).
const wasmMemories = new Set();
const grow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function (delta) {
  wasmMemories.add(this);
  if (this.buffer.byteLength + delta * 65536 > config.wasmMemoryBytes) throw new RangeError("sandbox memory cap reached");
  return grow.call(this, delta);
};
const wasmBytes = () => { let n = 0; for (const m of wasmMemories) n += m.buffer.byteLength; return n; };

// Pyodide's NODEFS reads fs constants through process.binding, which the permission model denies.
process.binding = (name) => {
  if (name === "constants") return { fs: {} };
  throw new Error("process.binding is not available in the sandbox");
};

/** Remove what would reach the network or Node's modules, should any JS object ever leak to user code. */
function dropCapabilities() {
  for (const name of ["fetch", "WebSocket", "EventSource", "XMLHttpRequest", "Request", "Response", "Headers", "require", "module", "exports"]) {
    try { delete globalThis[name]; } catch {}
  }
  for (const name of ["getBuiltinModule", "dlopen", "_linkedBinding", "mainModule", "openStdin", "kill", "chdir"]) {
    try { Object.defineProperty(process, name, { value: undefined, configurable: false, writable: false }); } catch {}
  }
}

const firstLine = (e) => String(e && e.message !== undefined ? e.message : e).split("\n").map((s) => s.trim()).filter(Boolean).slice(-1)[0] || "error";

async function startJavaScript() {
  const core = require(config.modules.core);
  const variant = require(config.modules.variant);
  const quickjs = await core.newQuickJSWASMModuleFromVariant(variant.default || variant);
  return (req) => {
    const runtime = quickjs.newRuntime();
    runtime.setMemoryLimit(req.memoryBytes);
    runtime.setMaxStackSize(512 * 1024);
    const deadline = Date.now() + req.timeoutMs;
    let interrupted = false;
    runtime.setInterruptHandler(() => (interrupted = interrupted || Date.now() > deadline));
    const vm = runtime.newContext();
    const result = vm.evalCode(req.code, "completion.js");
    let reply;
    if (result.error) {
      const err = vm.dump(result.error);
      result.error.dispose();
      const message = typeof err === "string" ? err : (err && err.name ? err.name : "Error") + ": " + (err && err.message !== undefined ? err.message : String(err));
      const kind = interrupted ? "timeout" : /out of memory/i.test(message) ? "memory" : "error";
      reply = { ok: false, kind, error: kind === "timeout" ? "timed out after " + req.timeoutMs + " ms" : message.slice(0, 500) };
    } else {
      const value = vm.dump(result.value);
      result.value.dispose();
      reply = { ok: true, value };
    }
    vm.dispose();
    runtime.dispose();
    return reply;
  };
}

async function startPython() {
  const { loadPyodide } = require(config.modules.pyodide);
  const py = await loadPyodide({ indexURL: config.pyodideDir, jsglobals: Object.create(null), stdout: () => {}, stderr: () => {} });
  // No JS object is reachable from Python: neither the globals nor Pyodide's own API module.
  py.unregisterJsModule("js");
  py.unregisterJsModule("pyodide_js");
  py.runPython("import sys\nfor name in ('js', 'pyodide_js'):\n    sys.modules.pop(name, None)", { globals: py.toPy({}) });
  // A request may monkeypatch modules or builtins; put them back after each one so that one
  // completion cannot change how the next is scored in this process.
  const makeReset = py.runPython(
    "def _make_reset():\n" +
    "    import sys\n" +
    "    modules = sys.modules\n" +
    "    base = dict(modules)\n" +
    "    saved = [(m.__dict__, dict(m.__dict__)) for m in base.values() if m is not None and isinstance(getattr(m, '__dict__', None), dict)]\n" +
    "    def reset(_list=list, _base=base, _saved=saved, _modules=modules):\n" +
    "        for name in _list(_modules):\n" +
    "            if name not in _base:\n" +
    "                del _modules[name]\n" +
    "        _modules.update(_base)\n" +
    "        for live, copy in _saved:\n" +
    "            live.clear()\n" +
    "            live.update(copy)\n" +
    "    return reset\n" +
    "_make_reset",
    { globals: py.toPy({}) },
  );
  const reset = makeReset();
  makeReset.destroy();
  const dict = py.globals.get("dict");
  return (req) => {
    const ns = dict();
    let reply;
    try {
      py.runPython(req.code, { globals: ns });
      reply = { ok: true, value: null };
    } catch (e) {
      const message = firstLine(e);
      reply = { ok: false, kind: /MemoryError|memory cap/.test(message) ? "memory" : "error", error: message.slice(0, 500) };
      // An API the permission model denied (os.system) is fatal to Pyodide: check it still answers.
      try { py.runPython("0", { globals: ns }); } catch { reply.fatal = true; }
    } finally {
      try { ns.destroy(); } catch {}
    }
    if (!reply.fatal) {
      try { reset(); } catch (e) { reply.fatal = true; }
    }
    return reply;
  };
}

(config.language === "python" ? startPython() : startJavaScript()).then(
  (run) => {
    dropCapabilities();
    process.on("message", (req) => {
      let reply;
      try {
        reply = run(req);
      } catch (e) {
        // The runtime itself failed (an abort inside the interpreter): answer, then leave.
        reply = { ok: false, kind: "error", error: "the interpreter failed: " + firstLine(e), fatal: true };
      }
      const recycle = Boolean(reply.fatal) || wasmBytes() > config.recycleAboveBytes;
      delete reply.fatal;
      send(Object.assign({ type: "result", id: req.id, recycle }, reply), () => { if (recycle) process.exit(0); });
    });
    send({ type: "ready" });
  },
  (e) => {
    process.stderr.write("sandbox failed to start: " + (e && e.stack ? e.stack : String(e)) + "\n");
    process.exit(70);
  },
);
`;
