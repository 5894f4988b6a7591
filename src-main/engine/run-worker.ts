// One live run in its own thread. Training (graph building, ONNX updates, rollouts, rewards,
// checkpoint writes) kept the engine's event loop busy for seconds at a time, so a server on
// that loop answered `app.info` after up to 22 s. Here the run has a loop of its own; the engine
// relays pause / stop / patch in and events out. When the run ends, its native resources (ONNX
// sessions, llama.cpp model) are disposed and the thread exits, which returns its heap.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { RftRun, type RftEvent } from "../rft/rft-run.js";
import { resolveRftConfig, type RftConfigInput, type RftPatch } from "../rft/rft-config.js";
import type { RunStatus } from "../store/run-store.js";
import { PREFLIGHT_FILE, runPreflight, type PreflightOptions } from "./preflight.js";
import { disposeLlamaBackend } from "../rollout/rollout-engine.js";
import { closeSandboxes } from "../sandbox/sandbox-pool.js";

/** What a run thread is started with. */
export type RunWorkerData = { kind: "create"; runsDir: string; config: RftConfigInput; preflight?: PreflightOptions } | { kind: "resume"; runDir: string; patch?: RftPatch };
/** Messages to a run thread. */
export type ToRunWorker = { type: "pause" } | { type: "stop" } | { type: "patch"; patch: RftPatch };
/** Messages from a run thread. */
export type FromRunWorker =
  | { type: "started"; runId: string; dir: string }
  | { type: "start-failed"; error: string }
  | { type: "event"; event: RftEvent }
  | { type: "ended"; status: RunStatus; error?: string };

/**
 * Create a run, and if building it fails after its directory was made, delete that directory:
 * a failed start must leave no orphan run. Starts are serialised by the engine, so a directory
 * that appeared under `runsDir` during this call and still says "created" is this call's.
 */
async function createCleanly(runsDir: string, config: RftConfigInput, emit: (e: RftEvent) => void, preflight: PreflightOptions = {}): Promise<RftRun> {
  // Before the run directory exists: a refused start leaves nothing behind.
  const report = await runPreflight(resolveRftConfig(config), preflight);
  const before = new Set(readdirSync(runsDir));
  try {
    const run = await RftRun.create(runsDir, config, emit);
    // What the pre-flight found stays with the run (runs.start returns it; the run screen can show it).
    writeFileSync(join(run.store.dir, PREFLIGHT_FILE), JSON.stringify(report, null, 2) + "\n");
    return run;
  } catch (e) {
    for (const name of readdirSync(runsDir)) {
      if (before.has(name)) continue;
      try {
        const record = JSON.parse(readFileSync(join(runsDir, name, "run.json"), "utf8")) as { status?: string };
        if (record.status === "created") rmSync(join(runsDir, name), { recursive: true, force: true });
      } catch {
        // Not a run directory this call made (or unreadable): leave it.
      }
    }
    throw e;
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("run-worker.ts runs only as a worker thread");
  const post = (m: FromRunWorker): void => port.postMessage(m);
  const emit = (event: RftEvent): void => post({ type: "event", event });
  const data = workerData as RunWorkerData;
  let run: RftRun;
  try {
    run = data.kind === "create" ? await createCleanly(data.runsDir, data.config, emit, data.preflight) : await RftRun.resume(data.runDir, emit);
  } catch (e) {
    post({ type: "start-failed", error: (e as Error).message ?? String(e) });
    port.close();
    return;
  }
  port.on("message", (m: ToRunWorker) => {
    try {
      if (m.type === "pause") run.pause();
      else if (m.type === "stop") run.stop();
      else if (m.type === "patch") run.patch(m.patch);
    } catch {
      // The engine validated the patch before relaying it; nothing else can throw here.
    }
  });
  // A change made while the run was paused applies at its first step after resuming.
  if (data.kind === "resume" && data.patch) run.patch(data.patch);
  post({ type: "started", runId: run.id, dir: run.store.dir });
  let status: RunStatus;
  let error: string | undefined;
  try {
    status = await run.run();
  } catch (e) {
    status = "failed";
    error = (e as Error).message ?? String(e);
  } finally {
    await run.dispose().catch(() => undefined);
    await disposeLlamaBackend().catch(() => undefined);
    await closeSandboxes().catch(() => undefined);
  }
  post({ type: "ended", status, ...(error ? { error } : {}) });
  port.close();
}

await main();
