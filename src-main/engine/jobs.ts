// The engine's handle on a job thread (job-worker.ts): starts it, forwards its progress, and
// settles with its result once the thread is gone; close() ends it early (engine shutdown).
import { Worker } from "node:worker_threads";
import type { CompareProgress } from "../protocol/insight.js";
import type { FromJobWorker, JobData, ToJobWorker } from "./job-worker.js";
import { RunThreadError, workerSpec } from "./live-run.js";

/** A job in its own thread. */
export class Job<T> {
  /** Settles once the thread has exited: with the job's result, or rejected with why it has none. */
  readonly result: Promise<T>;
  private readonly worker: Worker;

  constructor(data: JobData, onProgress: (p: CompareProgress) => void = () => undefined) {
    const spec = workerSpec("job-worker");
    this.worker = new Worker(spec.file, { eval: spec.eval, workerData: { ...data, ...spec.data }, stdout: false, stderr: false });
    this.result = new Promise<T>((resolve, reject) => {
      let outcome: { ok: true; result: T } | { ok: false; error: Error } | null = null;
      this.worker.on("message", (m: FromJobWorker) => {
        if (m.type === "progress") onProgress(m.progress);
        else if (m.type === "result") outcome = { ok: true, result: m.result as T };
        else outcome = { ok: false, error: new Error(m.error) };
      });
      this.worker.on("error", (e) => (outcome ??= { ok: false, error: e }));
      this.worker.on("exit", (code) => {
        const o = outcome ?? { ok: false, error: new RunThreadError(`the job thread exited (code ${code}) without a result`) };
        if (o.ok) resolve(o.result);
        else reject(o.error);
      });
    });
    this.result.catch(() => undefined); // a caller that stops waiting (engine closing) leaves no unhandled rejection
  }

  /** Cancel the job (it stops at its next chunk of items, freeing its model) and wait until its thread is gone; a thread stuck past `graceMs` is terminated. */
  async close(graceMs = 30_000): Promise<void> {
    this.worker.postMessage({ type: "cancel" } satisfies ToJobWorker);
    const timer = setTimeout(() => void this.worker.terminate(), graceMs);
    await this.result.catch(() => undefined);
    clearTimeout(timer);
  }
}
