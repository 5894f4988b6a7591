// Issue 13, "did it help?" and "what is it doing?" through the engine: a heatmap cell's
// completions (samples.jsonl), base against adapter at the end of a run (stored, re-read by a
// new engine without measuring again), and "try it" (base and adapter, same seed).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "../protocol/protocol.js";
import type { ComparisonState, TryResult } from "../protocol/insight.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeRandomLora, writeTinyModel } from "../testing/tiny-files.js";
import { Engine } from "./engine.js";
import { COMPARE_FILE, tryBoth } from "./run-comparison.js";
import { until } from "../testing/until.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();
let engine: Engine;
const events: EngineEvent[] = [];

beforeAll(async () => {
  engine = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
  engine.onEvent((e) => events.push(e));
});
afterAll(() => engine?.close());


async function importSmallDataset(name: string): Promise<string> {
  const source = tmp.path(`${name}.jsonl`);
  writeFileSync(source, readFileSync(root("resources/datasets/synthetic-train.jsonl"), "utf8").split("\n").slice(0, 40).join("\n") + "\n");
  engine.grant(source);
  return ((await engine.handle("datasets.import", { source, name })) as { id: string }).id;
}

const ended = (runId: string) => () => events.find((e) => e.type === "run.status" && e.runId === runId && ["finished", "failed", "stopped"].includes(e.status));
const compareEvents = (runId: string) => events.filter((e): e is Extract<EngineEvent, { type: "run.compare" }> => e.type === "run.compare" && e.runId === runId);

describe("a METIS run with a held-out evaluation set", () => {
  let runId: string;
  let runDir: string;

  it("records each step's completions, rewards, advantages and judgments, read back per cell", async () => {
    const dataset = await importSmallDataset("small");
    ({ runId } = (await engine.handle("runs.start", {
      config: { dataset, scheduler: "metis", steps: 2, batchSize: 2, groupSize: 3, maxTokens: 8, evalItems: 4, evalSamples: 2, metisJudgmentSamples: 2 },
      eval: { kind: "holdout", percent: 25 },
    })) as { runId: string });
    expect(await until(ended(runId))).toMatchObject({ status: "finished" });
    const { metrics, run } = (await engine.handle("runs.metrics", { runId })) as { metrics: { step: number; cells: { id: string; mean: number }[] }[]; run: { id: string } };
    runDir = join(tmp.path("user/runs"), run.id);
    expect(existsSync(join(runDir, "samples.jsonl"))).toBe(true);
    for (const m of metrics) {
      const all = (await engine.handle("runs.samples", { runId, step: m.step })) as { recorded: boolean; prompts: { id: string; completions: { text: string; reward: number | null; advantage: number | null }[]; judgment?: { prompt: string; answers: unknown[] } }[] };
      expect(all.recorded).toBe(true);
      // One record per heatmap cell of the step, its rewards giving the cell's mean.
      expect(all.prompts.map((p) => p.id)).toEqual(m.cells.map((c) => c.id));
      for (const [i, p] of all.prompts.entries()) {
        expect(p.completions).toHaveLength(3);
        const rewards = p.completions.map((c) => c.reward!);
        expect(rewards.reduce((a, b) => a + b, 0) / 3).toBeCloseTo(m.cells[i]!.mean, 10);
        // Group advantages sum to zero; METIS asked its judgment about every prompt it chose.
        expect(p.completions.reduce((a, c) => a + c.advantage!, 0)).toBeCloseTo(0, 6);
        expect(p.judgment!.prompt).toMatch(/^Judge variance\.\n[\s\S]*\nNew: [\s\S]*\nA:$/);
        expect(p.judgment!.answers).toHaveLength(2);
      }
      const one = (await engine.handle("runs.samples", { runId, step: m.step, promptId: m.cells[1]!.id })) as { prompts: { id: string }[] };
      expect(one.prompts.map((p) => p.id)).toEqual([m.cells[1]!.id]);
    }
    expect(await engine.handle("runs.samples", { runId, step: 3 })).toEqual({ step: 3, recorded: false, prompts: [] });
    await expect(engine.handle("runs.samples", { runId, step: 0 })).rejects.toThrow(/runs\.samples: invalid parameters: step/);
  }, 180_000);

  it("compares base and adapter by itself at the end, stores it, and a new engine re-reads it without measuring", async () => {
    await until(() => compareEvents(runId).some((e) => e.state !== "running"));
    const seen = compareEvents(runId);
    expect(seen.map((e) => e.state).at(-1)).toBe("done");
    expect(seen.some((e) => e.progress && e.progress.done > 0 && e.progress.total > 0)).toBe(true);
    const state = (await engine.handle("runs.comparison", { runId })) as ComparisonState;
    expect(state.running).toBeNull();
    const c = state.comparison!;
    expect(c).toMatchObject({ step: 2, samples: 2, sampling: { temperature: 1, maxTokens: 8, seed: 1 } });
    expect(c.items).toBe(c.rows);
    expect(c.items).toBeGreaterThan(4); // the whole evaluation set, not the curve's 4 items
    const overall = c.table.at(-1)!;
    expect(overall).toMatchObject({ family: null, items: c.items });
    expect(overall.base).toBeCloseTo(c.base.passRate, 10);
    expect(overall.adapter).toBeCloseTo(c.adapter.passRate, 10);
    expect(c.table.slice(0, -1).reduce((n, r) => n + r.items, 0)).toBe(c.items);

    const again = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
    const later: EngineEvent[] = [];
    again.onEvent((e) => later.push(e));
    try {
      expect(await again.handle("runs.comparison", { runId })).toEqual(state);
      expect(JSON.parse(readFileSync(join(runDir, COMPARE_FILE), "utf8"))).toEqual(c);
      expect(later).toEqual([]);
    } finally {
      await again.close();
    }
  }, 180_000);

  it("measures again on demand (one at a time), and tries a prompt on base and adapter", async () => {
    const before = compareEvents(runId).length;
    expect(await engine.handle("runs.compare", { runId })).toEqual({ started: true });
    expect(await engine.handle("runs.compare", { runId })).toEqual({ started: false });
    expect(((await engine.handle("runs.comparison", { runId })) as ComparisonState).running).not.toBeNull();
    const tried = (await engine.handle("runs.try", { runId, prompt: "Q: 12+30=?\nA:" })) as TryResult;
    expect(tried).toMatchObject({ step: 2, sampling: { temperature: 1, maxTokens: 8, seed: 1 } });
    expect(typeof tried.base.text).toBe("string");
    expect(typeof tried.adapter.text).toBe("string");
    expect(tried.base.tokens).toBeGreaterThan(0);
    await until(() => compareEvents(runId).slice(before).some((e) => e.state === "done"));
  }, 180_000);

  it("a comparison under way is cancelled when the engine closes: its thread ends without a failure reported, the stored result stays", async () => {
    const stored = readFileSync(join(runDir, COMPARE_FILE), "utf8");
    const other = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
    const seen: EngineEvent[] = [];
    other.onEvent((e) => seen.push(e));
    expect(await other.handle("runs.compare", { runId })).toEqual({ started: true });
    await until(() => seen.some((e) => e.type === "run.compare" && e.progress !== null && e.progress.done > 0));
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(seen.filter((e) => e.type === "run.compare").map((e) => (e as { state: string }).state)).not.toContain("failed");
    expect(readFileSync(join(runDir, COMPARE_FILE), "utf8")).toBe(stored);
  }, 120_000);
});

describe("without an evaluation set", () => {
  it("no comparison starts at the end, and asking for one says why", async () => {
    const dataset = await importSmallDataset("plain");
    const { runId } = (await engine.handle("runs.start", { config: { dataset, scheduler: "uniform", steps: 1, batchSize: 2, groupSize: 2, maxTokens: 8 }, eval: { kind: "none" } })) as { runId: string };
    expect(await until(ended(runId))).toMatchObject({ status: "finished" });
    await new Promise((r) => setTimeout(r, 200));
    expect(compareEvents(runId)).toEqual([]);
    await expect(engine.handle("runs.compare", { runId })).rejects.toThrow(/the run has no evaluation set to compare the base model and the adapter on/);
    expect(await engine.handle("runs.comparison", { runId })).toEqual({ comparison: null, running: null, error: null });
  }, 120_000);
});

describe("an engine opened with compareAtEnd false", () => {
  it("does not compare by itself when a run with an evaluation set finishes; on demand it still does", async () => {
    const quiet = await Engine.open({ userData: tmp.path("quiet"), resources: root("resources"), host: "test", version: "0.0.0", compareAtEnd: false });
    const seen: EngineEvent[] = [];
    quiet.onEvent((e) => seen.push(e));
    try {
      const { runId } = (await quiet.handle("runs.start", { config: { scheduler: "uniform", steps: 1, batchSize: 2, groupSize: 2, maxTokens: 8, evalItems: 2, evalSamples: 1 }, eval: { kind: "holdout", percent: 1 } })) as { runId: string };
      await until(() => seen.find((e) => e.type === "run.status" && e.runId === runId && e.status === "finished"));
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.filter((e) => e.type === "run.compare")).toEqual([]);
      expect(await quiet.handle("runs.compare", { runId })).toEqual({ started: true });
    } finally {
      await quiet.close();
    }
  }, 120_000);
});

describe("try it", () => {
  it("samples base and adapter with one seed: identical under a zero adapter, different under one that changes the model", async () => {
    const model = writeTinyModel(tmp.path("tiny.gguf"), { arch: "llama" });
    writeRandomLora(tmp.path("zero.gguf"), model, { bStd: 0 });
    writeRandomLora(tmp.path("strong.gguf"), model, { bStd: 0.5 });
    const sampling = { temperature: 1, maxTokens: 24, seed: 7 };
    const run = async (adapter: string): Promise<{ base: string; adapter: string }> => {
      const engine = await RolloutEngine.load({ modelPath: tmp.path("tiny.gguf"), adapter: { path: adapter } });
      try {
        const r = await tryBoth(engine, "hello", sampling);
        return { base: r.base.text, adapter: r.adapter.text };
      } finally {
        await engine.dispose();
      }
    };
    const zero = await run(tmp.path("zero.gguf"));
    const strong = await run(tmp.path("strong.gguf"));
    expect(zero.adapter).toBe(zero.base);
    expect(strong.base).toBe(zero.base);
    expect(strong.adapter).not.toBe(strong.base);
  }, 60_000);
});
