// Pre-flight through the engine: runs.preflight estimates at once (header only) and, asked for
// the baseline, samples the base model in a job thread; runs.start returns its own pre-flight
// (baseline included unless switched off) and a run started with it trains as usual.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PreflightResult } from "../protocol/preflight.js";
import { useTempDir } from "../testing/temp-dir.js";
import { Engine } from "./engine.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0", compareAtEnd: false });
});
afterAll(() => engine?.close());

const config = { scheduler: "uniform", steps: 1, batchSize: 2, groupSize: 4, maxTokens: 24 };

describe("engine pre-flight", () => {
  it("runs.preflight: the estimate from the header, and the baseline on request", async () => {
    const quick = (await engine.handle("runs.preflight", { config })) as PreflightResult;
    expect(quick.estimate.fits).toBe(true);
    expect(quick.estimate.memory.totalMB).toBeGreaterThan(100);
    expect(quick.estimate.parameters).toBeGreaterThan(1e6);
    expect(quick.baseline).toBeNull();
    const bigger = (await engine.handle("runs.preflight", { config: { ...config, batchSize: 8, maxTokens: 256 } })) as PreflightResult;
    expect(bigger.estimate.memory.totalMB).toBeGreaterThan(quick.estimate.memory.totalMB);
    const full = (await engine.handle("runs.preflight", { config, baseline: true })) as PreflightResult;
    expect(full.baseline?.prompts).toBe(8);
    expect(full.baseline?.samplesPerPrompt).toBe(4);
  }, 60_000);

  it("runs.start reports its pre-flight; baseline: false skips the sample", async () => {
    const withSample = (await engine.handle("runs.start", { config, eval: { kind: "none" } })) as { runId: string; preflight?: PreflightResult };
    expect(withSample.preflight?.baseline?.prompts).toBe(8);
    expect(withSample.preflight?.estimate.fits).toBe(true);
    await waitEnded(withSample.runId);
    const without = (await engine.handle("runs.start", { config, eval: { kind: "none" }, baseline: false })) as { runId: string; preflight?: PreflightResult };
    expect(without.preflight?.baseline).toBeNull();
    await waitEnded(without.runId);
  }, 120_000);
});

async function waitEnded(runId: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const runs = (await engine.handle("runs.list", {})) as { id: string; status: string }[];
    const status = runs.find((r) => r.id === runId)?.status;
    if (status && status !== "running" && status !== "created") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} did not end`);
}
