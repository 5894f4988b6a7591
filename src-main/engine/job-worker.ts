// A job thread: one evaluation (base against adapter on a run's evaluation set, or one prompt
// tried on both) with its own llama.cpp backend and event loop, so the engine answers commands
// while it samples and scores. Its native resources go with the thread when the job ends.
import { parentPort, workerData } from "node:worker_threads";
import type { CompareProgress } from "../protocol/insight.js";
import { disposeLlamaBackend } from "../rollout/rollout-engine.js";
import { closeSandboxes } from "../sandbox/sandbox-pool.js";
import type { RftConfig } from "../rft/rft-config.js";
import { preflightResult, runPreflight } from "./preflight.js";
import { compareRun, tryRun } from "./run-comparison.js";

/** What a job thread is started with. */
export type JobData = { kind: "compare"; runDir: string } | { kind: "try"; runDir: string; prompt: string; seed?: number } | { kind: "preflight"; config: RftConfig };
/** Messages to a job thread: cancel (at the next chunk of items; the engine is closing). */
export type ToJobWorker = { type: "cancel" };
/** Messages from a job thread: progress, then one result or failure. */
export type FromJobWorker = { type: "progress"; progress: CompareProgress } | { type: "result"; result: unknown } | { type: "failed"; error: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("job-worker.ts runs only as a worker thread");
  const post = (m: FromJobWorker): void => port.postMessage(m);
  const data = workerData as JobData;
  let cancelled = false;
  port.on("message", (m: ToJobWorker) => {
    if (m.type === "cancel") cancelled = true;
  });
  // Cancelling throws out of the evaluation between chunks, so the model and contexts are disposed before the thread ends.
  const progress = (p: CompareProgress): void => {
    if (cancelled) throw new Error("cancelled: the engine is closing");
    post({ type: "progress", progress: p });
  };
  try {
    const result = data.kind === "compare" ? await compareRun(data.runDir, progress) : data.kind === "try" ? await tryRun(data.runDir, data.prompt, data.seed) : preflightResult(await runPreflight(data.config, { baseline: true, force: true }));
    post({ type: "result", result });
  } catch (e) {
    post({ type: "failed", error: (e as Error).message ?? String(e) });
  } finally {
    await disposeLlamaBackend().catch(() => undefined);
    await closeSandboxes().catch(() => undefined);
  }
  port.close();
}

await main();
