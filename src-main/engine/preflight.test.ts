// Pre-flight at Start: the memory refusal and its suggestions, the baseline sample's warning on
// datasets with no learning signal (all failed, all solved) and not on the built-in one, and a
// run that is the same with and without the baseline sample.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readTaskRows } from "../datasets/default-datasets.js";
import type { TaskRow } from "../datasets/task-row.js";
import { resolveRftConfig } from "../rft/rft-config.js";
import { RftRun } from "../rft/rft-run.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { useTempDir } from "../testing/temp-dir.js";
import { readModelShape } from "./memory-estimate.js";
import { baselineWarning, checkMemory, runPreflight, sampleBaseline } from "./preflight.js";
import { stableMetrics } from "../testing/stable-metrics.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const MODEL = root("resources/models/metis-tiny.gguf");
const TRAIN = root("resources/datasets/synthetic-train.jsonl");
const tmp = useTempDir();

/** The built-in model's arithmetic prompts with another reward: it always writes a number. */
function arithmeticWith(reward: TaskRow["reward"]): string {
  const rows = readTaskRows(TRAIN).filter((r) => r.family === "arithmetic").slice(0, 24).map((r) => ({ ...r, reward }));
  const path = tmp.path(`arith-${reward.kind}.jsonl`);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return path;
}

describe("memory check", () => {
  // Qwen2.5-0.5B's shape as an F16 GGUF: matrices held as float16, trained block by block.
  const shape = { parameters: 494e6, fileBytes: 988e6, heldBytes: 988e6, layers: 24, dim: 896, ffn: 4864, heads: 14, kvHeads: 2, headDim: 64, vocab: 151_936, contextLength: 32_768 };
  const settings = { batchSize: 8, groupSize: 8, maxTokens: 256, loraRank: 16, microBatchTokens: 8192, promptTokens: 200 };

  it("refuses with the estimate, the memory and concrete suggestions when it does not fit", () => {
    const need = checkMemory(shape, settings, { availableMB: 1e9, totalMB: 1e9 }).estimate.memory.totalMB;
    // Room for the weights but not for the default update: a smaller micro-batch budget fits (the
    // update's activations are bounded by that budget, not by batch or Max tokens).
    const check = checkMemory(shape, settings, { availableMB: need * 0.95, totalMB: need });
    expect(check.fits).toBe(false);
    expect(check.message).toMatch(/needs about [\d.]+ GB of memory/);
    expect(check.message).toMatch(/available/);
    expect(check.message).toContain("--force");
    expect(check.suggestions.some((s) => s.startsWith("Micro-batch tokens 8192 →"))).toBe(true);
    for (const s of check.suggestions) expect(check.message).toContain(s);
  });

  it("suggests settings together when no one setting is enough", () => {
    // Tokens alone or the LoRA rank alone (its AdamW state) is too much: both must come down.
    const huge = { ...settings, batchSize: 1024, groupSize: 256, maxTokens: 8192, microBatchTokens: 1_048_576, loraRank: 512 };
    // Room for the model and a small update, whatever the calibration's coefficients.
    const small = checkMemory(shape, { ...settings, batchSize: 2, groupSize: 2, maxTokens: 64, microBatchTokens: 512 }, { availableMB: 1e9, totalMB: 1e9 }).estimate.memory.totalMB;
    const check = checkMemory(shape, huge, { availableMB: small * 1.5, totalMB: small * 2 });
    expect(check.fits).toBe(false);
    expect(check.suggestions).toHaveLength(1);
    expect(check.message).toMatch(/These settings would fit: together: .*Micro-batch tokens 1048576 → \d+ \(--micro-batch-tokens \d+\)/);
  });

  it("says when no setting helps: the weights alone are too large", () => {
    const check = checkMemory(shape, settings, { availableMB: 1000, totalMB: 2000 });
    expect(check.fits).toBe(false);
    expect(check.suggestions).toEqual([]);
    expect(check.message).toMatch(/smaller model/);
  });

  it("passes a run that fits", () => {
    const check = checkMemory(shape, settings, { availableMB: 1e9, totalMB: 1e9 });
    expect(check.fits).toBe(true);
    expect(check.message).toBeNull();
  });
});

describe("baseline warning", () => {
  const report = { prompts: 8, samplesPerPrompt: 8, maxTokens: 96, truncated: 0, seconds: 1, timeLimited: false };
  it("fires on ~0 % and ~100 % and on all-flat groups, not in between", () => {
    expect(baselineWarning({ ...report, passRate: 0, meanReward: 0, zeroVarianceGroups: 8 })).toMatch(/No learning signal/);
    expect(baselineWarning({ ...report, passRate: 1, meanReward: 1, zeroVarianceGroups: 8 })).toMatch(/Little to learn/);
    expect(baselineWarning({ ...report, passRate: 0.3, meanReward: 0.3, zeroVarianceGroups: 8 })).toMatch(/8 of 8 groups/);
    expect(baselineWarning({ ...report, passRate: 0.3, meanReward: 0.3, zeroVarianceGroups: 4 })).toBeNull();
    expect(baselineWarning({ ...report, passRate: 0, meanReward: 0, zeroVarianceGroups: 8, truncated: 40 })).toMatch(/40 of 64 completions were cut at Max tokens \(96\)/);
  });
});

describe("baseline sample (built-in model)", () => {
  const sample = async (dataset: string, timeLimitSeconds?: number): Promise<Awaited<ReturnType<typeof sampleBaseline>>> => {
    const engine = await RolloutEngine.load({ modelPath: MODEL });
    try {
      return await sampleBaseline(engine, readTaskRows(dataset), { seed: 1, groupSize: 8, maxTokens: 48, temperature: 1 }, timeLimitSeconds);
    } finally {
      await engine.dispose();
    }
  };

  it("warns on an all-failed dataset", async () => {
    const b = await sample(arithmeticWith({ kind: "math", answer: "-987654321" }));
    expect(b.passRate).toBe(0);
    expect(b.warning).toMatch(/No learning signal/);
  }, 60_000);

  it("warns on an all-solved dataset", async () => {
    // Any number scores ~1: a continuous reward with a huge scale.
    const b = await sample(arithmeticWith({ kind: "continuous", target: 5, scale: 1e12 }));
    expect(b.passRate).toBeGreaterThanOrEqual(0.98);
    expect(b.warning).toMatch(/Little to learn/);
  }, 60_000);

  it("does not warn on the built-in dataset, and reports its size and time", async () => {
    const b = await sample(TRAIN);
    expect(b.warning).toBeNull();
    expect(b.prompts * b.samplesPerPrompt).toBe(64);
    expect(b.seconds).toBeGreaterThan(0);
    expect(b.seconds).toBeLessThan(30);
    expect(b.timeLimited).toBe(false);
  }, 60_000);

  it("stops taking prompts at its time limit, keeping the two it sampled first and saying so", async () => {
    const b = await sample(TRAIN, 0);
    expect(b.prompts).toBe(2);
    expect(b.samplesPerPrompt).toBe(8);
    expect(b.timeLimited).toBe(true);
  }, 60_000);
});

describe("a run with and without the baseline sample", () => {
  const stable = stableMetrics;
  const train = async (dir: string, baseline: boolean): Promise<unknown[]> => {
    const input = { model: MODEL, dataset: TRAIN, scheduler: "uniform" as const, steps: 3, batchSize: 4, groupSize: 4, maxTokens: 24, seed: 7, oldLogProbs: "recompute" as const };
    if (baseline) {
      const report = await runPreflight(resolveRftConfig(input), { baseline: true });
      expect(report.baseline).not.toBeNull();
      expect(report.memory.fits).toBe(true);
    }
    const steps: unknown[] = [];
    const run = await RftRun.create(dir, input, (e) => e.type === "step" && steps.push(stable(e.metrics)));
    try {
      expect(await run.run()).toBe("finished");
    } finally {
      await run.dispose();
    }
    return steps;
  };

  it("trains identically: the sample draws nothing from the run's random stream", async () => {
    const without = await train(tmp.path("without"), false);
    const withBaseline = await train(tmp.path("with"), true);
    expect(withBaseline).toHaveLength(3);
    expect(withBaseline).toEqual(without);
  }, 120_000);
});

describe("pre-flight on the built-in model", () => {
  it("reads the model's shape from its header", () => {
    const s = readModelShape(MODEL);
    expect(s).toMatchObject({ layers: 4, dim: 192, heads: 6, kvHeads: 2, vocab: 257 });
  });
});
