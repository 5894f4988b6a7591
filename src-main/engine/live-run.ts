// The engine's handle on a run thread (run-worker.ts): starts it, relays pause / stop / patch,
// forwards its events, and knows when it has ended and its thread is gone.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { RftEvent } from "../rft/rft-run.js";
import type { RftPatch } from "../rft/rft-config.js";
import type { RunStatus } from "../store/run-store.js";
import type { FromRunWorker, RunWorkerData, ToRunWorker } from "./run-worker.js";

/** A run thread that ended without saying why (it threw outside the run, or was terminated). */
export class RunThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunThreadError";
  }
}

/**
 * How to start a thread of the engine's (`name`: run-worker, or job-worker for jobs.ts). Built
 * (out/main): NAME.js beside the entry files, this code being in an entry or in chunks/. From
 * source (tests, tsx): the .ts file, loaded through tsx, which a worker thread does not inherit
 * from its parent.
 */
export function workerSpec(name: "run-worker" | "job-worker" = "run-worker"): { file: string | URL; eval: boolean; data: Record<string, string> } {
  const source = new URL(`./${name}.ts`, import.meta.url);
  if (existsSync(fileURLToPath(source))) {
    // tsx's ESM build of its API (require.resolve finds the CommonJS one, which cannot load its hooks from here).
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
    const boot = `const { workerData } = require("node:worker_threads"); import(workerData.tsx).then((m) => { m.register(); return import(workerData.entry); }).catch((e) => { setImmediate(() => { throw e; }); });`;
    return { file: boot, eval: true, data: { tsx, entry: source.href } };
  }
  for (const rel of [`./${name}.js`, `../${name}.js`]) {
    const built = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(built))) return { file: built, eval: false, data: {} };
  }
  throw new RunThreadError(`${name}.js is missing beside ${fileURLToPath(import.meta.url)}: rebuild (npm run build)`);
}

/** A run in its own thread. */
export class LiveRun {
  private ended = false;

  private constructor(
    readonly id: string,
    readonly dir: string,
    private readonly worker: Worker,
    /** Resolves with the final status once the thread has exited (resources freed). */
    readonly done: Promise<{ status: RunStatus; error?: string }>,
  ) {}

  /** Start a thread that creates or resumes a run; resolves once the run is built, rejects with the reason it could not be. */
  static start(data: RunWorkerData, emit: (e: RftEvent) => void): Promise<LiveRun> {
    const spec = workerSpec();
    const worker = new Worker(spec.file, { eval: spec.eval, workerData: { ...data, ...spec.data }, stdout: false, stderr: false });
    return new Promise<LiveRun>((resolveStart, rejectStart) => {
      let live: LiveRun | null = null;
      let final: { status: RunStatus; error?: string } | null = null;
      let threadError: Error | null = null;
      let lastStep = 0;
      let resolveDone!: (v: { status: RunStatus; error?: string }) => void;
      const done = new Promise<{ status: RunStatus; error?: string }>((ok) => (resolveDone = ok));
      worker.on("message", (m: FromRunWorker) => {
        if (m.type === "event") {
          lastStep = m.event.type === "step" ? m.event.metrics.step : m.event.step;
          emit(m.event);
        }
        else if (m.type === "started") {
          live = new LiveRun(m.runId, m.dir, worker, done);
          resolveStart(live);
        } else if (m.type === "start-failed") rejectStart(new Error(m.error));
        else if (m.type === "ended") {
          final = { status: m.status, ...(m.error ? { error: m.error } : {}) };
          if (live) live.ended = true;
          // The thread ends by itself once the run is disposed; do not let a stuck native handle keep it.
          setTimeout(() => void worker.terminate(), 10_000).unref();
        }
      });
      worker.on("error", (e) => (threadError = e));
      worker.on("exit", (code) => {
        if (!live) {
          rejectStart(threadError ?? new RunThreadError(`the run thread exited (code ${code}) before the run started`));
          return;
        }
        live.ended = true;
        if (!final) {
          const error = threadError?.message ?? `the run thread exited (code ${code})`;
          final = { status: "failed", error };
          emit({ type: "status", runId: live.id, status: "failed", step: lastStep, error });
        }
        resolveDone(final);
      });
    });
  }

  /** Whether the run is still training (its thread has not reported an end). */
  get running(): boolean {
    return !this.ended;
  }

  /** Pause at the next step boundary. */
  pause(): void {
    this.send({ type: "pause" });
  }

  /** Stop at the next step boundary. */
  stop(): void {
    this.send({ type: "stop" });
  }

  /** Change parameters from the next step on (validated by the caller). */
  patch(patch: RftPatch): void {
    this.send({ type: "patch", patch });
  }

  /** Pause (a checkpoint is written) and wait until the thread is gone. */
  async close(): Promise<void> {
    this.pause();
    await this.done;
  }

  private send(m: ToRunWorker): void {
    if (!this.ended) this.worker.postMessage(m);
  }
}
