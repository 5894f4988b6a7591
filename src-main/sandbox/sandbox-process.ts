// One sandbox process: a Node child under the permission model that runs one runtime's requests
// one at a time. Its replies are untrusted (the code it runs may have taken it over): they are
// validated, and the process is killed at each deadline or when it grows past its memory cap.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { z } from "zod";
import { CHILD_PROGRAM, type ChildConfig, type ChildRequest } from "./child-program.js";

const resolveModule = createRequire(import.meta.url);

export type SandboxLanguage = "javascript" | "python";

/** What running code produced: a value, or why it did not (its own error, its deadline, its memory, or the sandbox). */
export type SandboxOutcome =
  | { ok: true; value: unknown }
  | { ok: false; kind: "error" | "timeout" | "memory" | "crash" | "unavailable"; error: string };

const replySchema = z.union([
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("result"), id: z.number(), ok: z.literal(true), value: z.unknown(), recycle: z.boolean() }),
  z.object({ type: z.literal("result"), id: z.number(), ok: z.literal(false), kind: z.enum(["error", "timeout", "memory"]), error: z.string().max(2000), recycle: z.boolean() }),
]);

/** Memory ceilings of one process. */
export interface ProcessLimits {
  /** Largest WebAssembly heap the runtime may grow to. */
  wasmMemoryBytes: number;
  /** Resident set size at which the parent kills the process (Linux; elsewhere the heap caps stand alone). */
  rssBytes: number;
  /** V8 heap ceiling of the process, in MiB. */
  v8HeapMb: number;
}

export const PROCESS_LIMITS: Record<SandboxLanguage, ProcessLimits> = {
  javascript: { wasmMemoryBytes: 256 * 2 ** 20, rssBytes: 512 * 2 ** 20, v8HeapMb: 64 },
  python: { wasmMemoryBytes: 768 * 2 ** 20, rssBytes: 1536 * 2 ** 20, v8HeapMb: 192 },
};

/** Node's flag for the permission model: experimental on Node 20 and early 22/23, stable after. */
export function permissionFlag(nodeVersion = process.versions.node): string {
  const [major = 0, minor = 0] = nodeVersion.split(".").map(Number);
  const stable = major > 23 || (major === 23 && minor >= 5) || (major === 22 && minor >= 13);
  return stable ? "--permission" : "--experimental-permission";
}

function packageDir(entry: string): string {
  let dir = dirname(entry);
  while (dir !== dirname(dir)) {
    try {
      readFileSync(`${dir}/package.json`);
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  return dirname(entry);
}

/** Entry modules and the directories the child may read, per language. */
function runtimeFiles(language: SandboxLanguage): { modules: Record<string, string>; readable: string[]; pyodideDir?: string } {
  if (language === "python") {
    const pyodide = resolveModule.resolve("pyodide");
    return { modules: { pyodide }, readable: [dirname(pyodide)], pyodideDir: dirname(pyodide) + "/" };
  }
  const core = resolveModule.resolve("quickjs-emscripten-core");
  const variant = createRequire(resolveModule.resolve("quickjs-emscripten")).resolve("@jitl/quickjs-wasmfile-release-sync");
  const ffiTypes = createRequire(core).resolve("@jitl/quickjs-ffi-types");
  return { modules: { core, variant }, readable: [packageDir(core), packageDir(variant), packageDir(ffiTypes)] };
}

/** Node's flags for a sandbox child: permission model (reads of the runtime's files only), no code from strings, capped heap. */
export function sandboxNodeFlags(language: SandboxLanguage, limits: ProcessLimits = PROCESS_LIMITS[language]): string[] {
  return [
    permissionFlag(),
    ...runtimeFiles(language).readable.map((dir) => `--allow-fs-read=${dir}`),
    "--disallow-code-generation-from-strings",
    `--max-old-space-size=${limits.v8HeapMb}`,
    "--no-warnings",
  ];
}

/** The whole command line of a sandbox child after the executable. */
export function childArguments(language: SandboxLanguage, limits: ProcessLimits = PROCESS_LIMITS[language]): string[] {
  const files = runtimeFiles(language);
  const config: ChildConfig = {
    language,
    modules: files.modules,
    ...(files.pyodideDir ? { pyodideDir: files.pyodideDir } : {}),
    wasmMemoryBytes: limits.wasmMemoryBytes,
    recycleAboveBytes: Math.floor(limits.wasmMemoryBytes / 2),
  };
  return [...sandboxNodeFlags(language, limits), "-e", CHILD_PROGRAM, JSON.stringify(config)];
}

function residentBytes(pid: number): number | null {
  if (process.platform !== "linux") return null;
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return Number.isFinite(pages) ? pages * 4096 : null;
  } catch {
    return null;
  }
}

/** A running sandbox child. `ready` settles once its runtime has loaded (false if it failed to start). */
export class SandboxProcess {
  readonly ready: Promise<boolean>;
  /** Settles once the process is gone (and reaped). */
  readonly gone$: Promise<void>;
  private markGone: () => void = () => {};
  private readonly child: ChildProcess;
  private current: { id: number; finish: (o: SandboxOutcome) => void } | null = null;
  private stderrTail = "";
  private exited = false;
  /** Set when the child said it leaves after its last reply. */
  private retiring = false;
  private nextId = 0;

  constructor(
    readonly language: SandboxLanguage,
    private readonly limits: ProcessLimits = PROCESS_LIMITS[language],
    /** Called once when the process is gone (exit, kill, failed start). */
    private readonly onGone: (p: SandboxProcess) => void = () => {},
  ) {
    // Under Electron the executable is Electron itself; ELECTRON_RUN_AS_NODE makes it plain Node.
    const env: NodeJS.ProcessEnv = process.versions.electron ? { ELECTRON_RUN_AS_NODE: "1" } : {};
    this.child = spawn(process.execPath, childArguments(language, limits), { stdio: ["ignore", "ignore", "pipe", "ipc"], env, serialization: "json" });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2000);
    });
    this.gone$ = new Promise((resolve) => (this.markGone = resolve));
    let markReady: (ok: boolean) => void = () => {};
    this.ready = new Promise((resolve) => (markReady = resolve));
    // A runtime that never finishes loading must not hold its queue forever.
    const startTimer = setTimeout(() => {
      this.stderrTail += "\nit did not start within 60 s";
      this.kill();
    }, 60_000);
    startTimer.unref();
    void this.ready.then(() => clearTimeout(startTimer));
    this.child.on("message", (raw: unknown) => {
      const reply = replySchema.safeParse(raw);
      if (!reply.success) return this.kill("crash", "the sandbox sent a malformed reply");
      const m = reply.data;
      if (m.type === "ready") return markReady(true);
      const job = this.current;
      if (!job || job.id !== m.id) return this.kill("crash", "the sandbox answered a request it was not given");
      this.current = null;
      this.retiring ||= m.recycle;
      job.finish(m.ok ? { ok: true, value: m.value } : { ok: false, kind: m.kind, error: m.error });
    });
    this.child.on("error", () => this.gone(markReady));
    this.child.on("exit", () => this.gone(markReady));
    // Held while starting and while running a request; an idle sandbox must not keep the CLI alive.
    void this.ready.then(() => this.hold(false));
  }

  private hold(held: boolean): void {
    const handles: ({ ref?: () => void; unref?: () => void } | null | undefined)[] = [this.child, this.child.channel, this.child.stderr as never];
    for (const h of handles) (held ? h?.ref : h?.unref)?.call(h);
  }

  /** The child's process id (tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process is alive and not running a request. */
  get idle(): boolean {
    return !this.exited && !this.retiring && this.current === null;
  }

  /** Run one request; the deadline counts from now (the request's own start), not from when it was queued. */
  run(code: string, timeoutMs: number, memoryBytes: number, graceMs: number): Promise<SandboxOutcome> {
    if (!this.idle) return Promise.resolve({ ok: false, kind: "crash", error: "the sandbox is busy or gone" });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const watch = setInterval(() => {
        const rss = residentBytes(this.child.pid ?? -1);
        if (rss !== null && rss > this.limits.rssBytes) this.kill("memory", `used more than ${Math.round(this.limits.rssBytes / 2 ** 20)} MiB`);
      }, 50);
      const timer = setTimeout(() => this.kill("timeout", `timed out after ${timeoutMs} ms`), timeoutMs + graceMs);
      this.hold(true);
      this.current = {
        id,
        finish: (outcome) => {
          this.hold(false);
          clearTimeout(timer);
          clearInterval(watch);
          resolve(outcome);
        },
      };
      const request: ChildRequest = { id, code, timeoutMs, memoryBytes };
      this.child.send(request, (error) => {
        if (error) this.kill("crash", `could not reach the sandbox: ${error.message}`);
      });
    });
  }

  /** End the process; a request in flight gets `kind` with `error`. */
  kill(kind: "timeout" | "memory" | "crash" = "crash", error = "the sandbox was stopped"): void {
    const job = this.current;
    this.current = null;
    job?.finish({ ok: false, kind, error });
    this.retiring = true;
    if (!this.exited) this.child.kill("SIGKILL");
  }

  private gone(markReady: (ok: boolean) => void): void {
    if (this.exited) return;
    this.exited = true;
    markReady(false);
    const job = this.current;
    this.current = null;
    const detail = this.startError;
    job?.finish({ ok: false, kind: "crash", error: `the sandbox process ended${detail ? `: ${detail}` : ""}` });
    this.onGone(this);
    this.markGone();
  }

  /** The last line of the process's error output (why it failed to start, or ended). */
  get startError(): string {
    return this.stderrTail.trim().split("\n").slice(-1)[0] ?? "";
  }
}
