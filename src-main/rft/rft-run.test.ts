// The RFT loop on the built-in model: pause/resume equivalence, mid-run changes, DAPO's waste
// accounting, and a SIGKILL at a random moment leaving every file readable and resumable.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { readTaskRows } from "../datasets/default-datasets.js";
import { evaluateRows } from "../eval/evaluate.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { PolicyModel } from "../train/llama/policy-model.js";
import { RunStore } from "../store/run-store.js";
import { useTempDir } from "../testing/temp-dir.js";
import { resolveRftConfig, withPreset } from "./rft-config.js";
import { RftRun, type StepMetrics } from "./rft-run.js";
import { stableMetrics } from "../testing/stable-metrics.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();
const base = { model: root("resources/models/metis-tiny.gguf"), dataset: root("resources/datasets/synthetic-train.jsonl"), batchSize: 4, groupSize: 4, maxTokens: 24, seed: 3 };
// Bit-exact comparisons recompute old log-probs in the graph: llama.cpp's own (the default) can
// differ in the last bits with the order its contexts reused cached prefixes.
const exact = { ...base, oldLogProbs: "recompute" as const };
const stable = stableMetrics;

describe("RFT loop", () => {
  it("pause and resume continue exactly like an uninterrupted run (METIS)", async () => {
    const straight: StepMetrics[] = [];
    const a = await RftRun.create(tmp.path("a"), { ...exact, steps: 4, scheduler: "metis" }, (e) => e.type === "step" && straight.push(e.metrics));
    expect(await a.run()).toBe("finished");
    const finalA = a.store.dir;
    await a.dispose();

    const split: StepMetrics[] = [];
    const b = await RftRun.create(tmp.path("b"), { ...exact, steps: 4, scheduler: "metis" }, (e) => {
      if (e.type !== "step") return;
      split.push(e.metrics);
      if (e.metrics.step === 2) b.pause();
    });
    expect(await b.run()).toBe("paused");
    const dir = b.store.dir;
    await b.dispose();
    const c = await RftRun.resume(dir, (e) => e.type === "step" && split.push(e.metrics));
    expect(c.step).toBe(2);
    expect(await c.run()).toBe("finished");
    await c.dispose();

    expect(split.map(stable)).toEqual(straight.map(stable));
    expect(straight.some((m) => m.loss !== 0)).toBe(true); // updates happened
    expect(straight[0]!.info["metis/candidates"]).toBe(12);
    // Each step's cells say which prompts the judge picked (its 3 top-ranked of 12 candidates) and
    // which exploration drew (the 4th, from the other 9), in metrics.jsonl as in the event.
    const rank = (p: number | null): number => p ?? -1;
    for (const m of straight) {
      expect(m.cells.map((c) => c.pick)).toEqual(["judge", "judge", "judge", "explore"]);
      expect(Math.min(...m.cells.slice(0, 3).map((c) => rank(c.predicted)))).toBeGreaterThanOrEqual(rank(m.cells[3]!.predicted));
    }
    expect((await RunStore.open(finalA)).readMetrics().map((m) => (m as unknown as StepMetrics).cells.map((c) => c.pick))).toEqual(straight.map((m) => m.cells.map((c) => c.pick)));
    const latest = (d: string): string => readdirSync(d).filter((f) => f.startsWith("adapter-")).sort().at(-1)!;
    expect(readFileSync(join(dir, latest(dir)))).toEqual(readFileSync(join(finalA, latest(finalA))));
  }, 180_000);

  it("the paper's METIS preset: one judgment per candidate, trained against a moving-average baseline", async () => {
    const seen: StepMetrics[] = [];
    const run = await RftRun.create(tmp.path("paper"), withPreset("paper", { ...base, steps: 3, scheduler: "metis" }), (e) => e.type === "step" && seen.push(e.metrics));
    expect(await run.run()).toBe("finished");
    const store = await RunStore.open(run.store.dir);
    expect(store.run.data.config).toMatchObject({ metisWindow: 3, metisExploration: 0, metisJudgmentSamples: 1, judgmentWeight: 0.01, judgmentReward: "squared", judgmentBaseline: "moving-average", scaleAdvantages: false });
    expect(typeof store.curriculum.state.judgmentBaseline).toBe("number");
    // Judgment sequences join the update (one per judged, rolled-out candidate).
    expect(seen.some((m) => (m.info["train/judgmentTrainTokens"] ?? 0) > 0)).toBe(true);
    expect(seen.every((m) => m.info["metis/examples"]! <= 3)).toBe(true);
    await run.dispose();
  }, 120_000);

  it("decoding \"batched\": the run rolls out through one batched context, keeps the choice in its config, and trains", async () => {
    const seen: StepMetrics[] = [];
    const run = await RftRun.create(tmp.path("batched"), { ...base, steps: 2, scheduler: "uniform", decoding: "batched" }, (e) => e.type === "step" && seen.push(e.metrics));
    expect((run as unknown as { engine: RolloutEngine }).engine.decoding).toBe("batched");
    expect(await run.run()).toBe("finished");
    expect(seen.map((m) => m.rolloutTokens).every((n) => n > 0)).toBe(true);
    expect((await RunStore.open(run.store.dir)).run.data.config.decoding).toBe("batched");
    await run.dispose();
    // The default stays the pool of one-sequence contexts.
    const plain = await RftRun.create(tmp.path("pool"), { ...base, steps: 1, scheduler: "uniform" });
    expect((plain as unknown as { engine: RolloutEngine }).engine.decoding).toBe("pool");
    await plain.dispose();
  }, 120_000);

  it("judgment normalization \"separate\": the judgment loss is a mean over its own tokens (task loss + λ · judgment loss)", async () => {
    const firstUpdate = async (judgmentNormalization: "joint" | "separate"): Promise<{ tokens: number[]; advantages: number[] }> => {
      const spy = vi.spyOn(PolicyModel.prototype, "update");
      // Step 2's update: by then the judgments have examples to read and their rewards differ. A
      // vanishing learning rate keeps step 1's (differently weighted) update from changing step 2's samples.
      const run = await RftRun.create(tmp.path(judgmentNormalization), { ...exact, steps: 2, scheduler: "metis", judgmentNormalization, learningRate: 1e-12 });
      await run.run();
      await run.dispose();
      const [sequences, signals] = spy.mock.calls.at(-1)!;
      spy.mockRestore();
      return { tokens: sequences.map((q) => q.tokens.length - q.completionStart), advantages: [...signals!.advantages] };
    };
    const joint = await firstUpdate("joint");
    const separate = await firstUpdate("separate");
    expect(separate.tokens).toEqual(joint.tokens);
    // Task sequences come first and keep their advantages; every judgment's is scaled by
    // (task completion tokens) / (judgment completion tokens), so each loss is its own token mean.
    const ratios = separate.advantages.map((a, i) => a / joint.advantages[i]!);
    const split = ratios.findIndex((r) => Math.abs(r - 1) > 1e-9);
    expect(split).toBeGreaterThan(0);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const scale = sum(joint.tokens.slice(0, split)) / sum(joint.tokens.slice(split));
    for (const r of ratios.slice(split)) expect(r).toBeCloseTo(scale, 9);
  }, 120_000);

  it("old log-probs from the sampler: the update recomputing them would make, without its forward pass", async () => {
    const stepOne = async (oldLogProbs: "sampler" | "recompute"): Promise<{ m: StepMetrics; forwards: number }> => {
      const spy = vi.spyOn(PolicyModel.prototype, "logProbs");
      const seen: StepMetrics[] = [];
      const run = await RftRun.create(tmp.path(oldLogProbs), { ...base, steps: 1, scheduler: "metis", oldLogProbs }, (e) => e.type === "step" && seen.push(e.metrics));
      await run.run();
      await run.dispose();
      const forwards = spy.mock.calls.length;
      spy.mockRestore();
      return { m: seen[0]!, forwards };
    };
    const sampler = await stepOne("sampler");
    const recompute = await stepOne("recompute");
    expect(recompute.forwards).toBe(1);
    expect(sampler.forwards).toBe(0);
    // Same rollouts and judgments (same seed), so the same sequences; llama.cpp's log-probs and the
    // graph's differ by ~1e-4, so the PPO ratio is 1 to that precision and the update the same.
    expect(sampler.m.rewardMean).toBe(recompute.m.rewardMean);
    expect(sampler.m.info["train/judgmentTrainTokens"]).toBe(recompute.m.info["train/judgmentTrainTokens"]);
    expect(sampler.m.loss).not.toBe(0);
    expect(Math.abs(sampler.m.loss - recompute.m.loss)).toBeLessThan(1e-3 * Math.max(1, Math.abs(recompute.m.loss)));
    expect(Math.abs(sampler.m.gradNorm - recompute.m.gradNorm)).toBeLessThan(1e-2 * recompute.m.gradNorm);
  }, 120_000);

  it("PCL picks prompts with a value head on the policy's embeddings once outcomes exist", async () => {
    const seen: StepMetrics[] = [];
    const run = await RftRun.create(tmp.path("pcl"), { ...base, batchSize: 4, steps: 4, scheduler: "pcl" }, (e) => e.type === "step" && seen.push(e.metrics));
    expect(await run.run()).toBe("finished");
    expect(seen.map((m) => m.info["pcl/trainPoints"])).toEqual([0, 4, 8, 12]);
    expect(seen[3]!.info["pcl/fitAbsError"]).toBeGreaterThanOrEqual(0);
    await run.dispose();
  }, 120_000);

  it("applies a change of scheduler and learning rate at the next step and records it", async () => {
    const seen: StepMetrics[] = [];
    const run = await RftRun.create(tmp.path("patch"), { ...base, steps: 3, scheduler: "uniform" }, (e) => {
      if (e.type === "step") seen.push(e.metrics);
      if (e.type === "step" && e.metrics.step === 1) run.patch({ scheduler: "dapo", learningRate: 1e-3 });
    });
    expect(() => run.patch({ groupSize: 3 } as never)).toThrow(/invalid change/);
    await run.run();
    expect(seen.map((m) => m.scheduler)).toEqual(["uniform", "dapo", "dapo"]);
    expect(seen.flatMap((m) => m.cells).some((c) => "pick" in c)).toBe(false); // only METIS picks
    // The default cosine schedule over the run's 3 steps, from the new rate on: 0.55× at step 2, 0.1× at step 3.
    expect(seen[0]!.learningRate).toBe(resolveRftConfig(base).learningRate);
    expect(seen[1]!.learningRate).toBeCloseTo(5.5e-4, 12);
    expect(seen[2]!.learningRate).toBeCloseTo(1e-4, 12);
    // …and it is the rate the optimizer used.
    expect((run as unknown as { policy: PolicyModel }).policy.engine.hyper.lr).toBeCloseTo(1e-4, 12);
    const store = await RunStore.open(run.store.dir);
    // With the configured values it replaced (the charts' markers read them: a scheduled rate is not the one set).
    expect(store.run.data.history).toMatchObject([{ step: 1, patch: { scheduler: "dapo", learningRate: 1e-3 }, before: { scheduler: "uniform", learningRate: resolveRftConfig(base).learningRate } }]);
    expect(store.readMetrics()).toHaveLength(3);
    // DAPO drops all-equal groups and counts what they cost.
    const dapo = seen.slice(1);
    for (const m of dapo) expect(m.wastedRollouts % base.groupSize).toBe(0);
    await run.dispose();
  }, 120_000);

  it("resuming a finished run whose some steps made no update neither rewinds nor re-trains", async () => {
    // Batch 1 × group 2: many steps have a zero-variance group and so no optimizer update, so the
    // optimizer's update count falls behind the loop's step.
    const run = await RftRun.create(tmp.path("rewind"), { ...base, batchSize: 1, groupSize: 2, steps: 8, checkpointEvery: 2, scheduler: "uniform" });
    expect(await run.run()).toBe("finished");
    const dir = run.store.dir;
    await run.dispose();
    const metricLines = (): number[] => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as StepMetrics).step);
    expect(metricLines()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const updates = (JSON.parse(readFileSync(join(dir, "checkpoints", "step-0000008", "checkpoint.json"), "utf8")) as { step: number }).step;
    expect(updates).toBeLessThan(8);

    const resumed = await RftRun.resume(dir);
    expect(resumed.step).toBe(8);
    expect(resumed.finished).toBe(true);
    expect(await resumed.run()).toBe("finished");
    await resumed.dispose();
    expect(metricLines()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // Extending it continues from step 9.
    const extended = await RftRun.resume(dir, undefined, { steps: 10 });
    expect(await extended.run()).toBe("finished");
    await extended.dispose();
    expect(metricLines()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await RunStore.open(dir)).run.data.history).toMatchObject([{ step: 8, patch: { steps: 10 } }]);
  }, 180_000);

  it("resume passes over a corrupt latest checkpoint to the previous good one", async () => {
    const run = await RftRun.create(tmp.path("corrupt"), { ...base, batchSize: 2, steps: 4, checkpointEvery: 2, scheduler: "uniform" });
    await run.run();
    const dir = run.store.dir;
    await run.dispose();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "checkpoints", "step-0000004", "checkpoint.json"), "{ not json");
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    try {
      const resumed = await RftRun.resume(dir);
      expect(resumed.step).toBe(2);
      expect(await resumed.run()).toBe("finished");
      expect(resumed.step).toBe(4);
      await resumed.dispose();
    } finally {
      console.warn = warn;
    }
    expect(warnings.join("\n")).toMatch(/skipped checkpoint .*step-0000004/);
  }, 120_000);

  it("resumes exactly after a crash while step 4's history line was being appended", async () => {
    const straight: StepMetrics[] = [];
    const run = await RftRun.create(tmp.path("torn"), { ...exact, batchSize: 2, steps: 4, checkpointEvery: 2, scheduler: "metis" }, (e) => e.type === "step" && straight.push(e.metrics));
    expect(await run.run()).toBe("finished");
    const dir = run.store.dir;
    await run.dispose();
    const history = readFileSync(join(dir, "history.jsonl"));
    // The files as a crash during step 4's append leaves them: step 3 logged, step 4's line cut,
    // no checkpoint after step 2.
    const { rmSync, writeFileSync } = await import("node:fs");
    const lineStarts = [0, ...[...history.entries()].filter(([, b]) => b === 10).map(([i]) => i + 1)];
    writeFileSync(join(dir, "history.jsonl"), history.subarray(0, lineStarts[3]! + 30));
    rmSync(join(dir, "checkpoints", "step-0000004"), { recursive: true });
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    const resumed: StepMetrics[] = [];
    try {
      const c = await RftRun.resume(dir, (e) => e.type === "step" && resumed.push(e.metrics));
      expect(c.step).toBe(2);
      expect(await c.run()).toBe("finished");
      await c.dispose();
    } finally {
      console.warn = warn;
    }
    expect(warnings.join("\n")).toMatch(/history\.jsonl: the line ending at byte \d+ has no newline \(a write cut by a crash\): ignored/);
    expect(resumed.map(stable)).toEqual(straight.slice(2).map(stable));
    // Steps 3 and 4 logged once, as the uninterrupted run logged them.
    expect(readFileSync(join(dir, "history.jsonl"))).toEqual(history);
  }, 180_000);

  it("non-finite weights stop the run with a clear error instead of finishing", async () => {
    let poisoned = false;
    const run: RftRun = await RftRun.create(tmp.path("nan"), { ...base, batchSize: 4, steps: 6, scheduler: "uniform" }, (e) => {
      if (e.type !== "step" || poisoned) return;
      // What a diverged update leaves behind: the trainable weights all NaN.
      const params = (run as unknown as { policy: { engine: { params(): Record<string, Float32Array> } } }).policy.engine.params();
      for (const p of Object.values(params)) p.fill(Number.NaN);
      poisoned = true;
    });
    await expect(run.run()).rejects.toThrow(/non-finite|NaN/i);
    expect((await RunStore.open(run.store.dir)).run.data.status).toBe("failed");
    await run.dispose();
  }, 120_000);

  // The first rung of the learning ladder (npm run bench -- learn has all three): GRPO on one
  // prompt the base model rarely solves must drive its pass rate to ≥ 0.9.
  it("learns: one prompt repeated goes from rarely solved to ≥ 90 %", async () => {
    const { writeFileSync, readdirSync: list } = await import("node:fs");
    const row = readTaskRows(base.dataset).find((r) => r.id === "train-code-3-39")!;
    writeFileSync(tmp.path("one.jsonl"), JSON.stringify(row) + "\n");
    const passRate = async (adapter: string | null): Promise<number> => {
      const engine = await RolloutEngine.load({ modelPath: base.model, adapter: adapter ? { path: adapter } : null });
      try {
        return (await evaluateRows(engine, [row], 32, { temperature: 1, maxTokens: 48, seed: 12 })).overall.passRate;
      } finally {
        await engine.dispose();
      }
    };
    expect(await passRate(null)).toBeLessThan(0.5);
    const run = await RftRun.create(tmp.path("one"), { ...base, dataset: tmp.path("one.jsonl"), batchSize: 2, groupSize: 8, maxTokens: 48, steps: 40, seed: 11, scheduler: "uniform", learningRateSchedule: "constant" });
    await run.run();
    const dir = run.store.dir;
    await run.dispose();
    const adapter = join(dir, list(dir).filter((f) => f.startsWith("adapter-")).sort().at(-1)!);
    expect(await passRate(adapter)).toBeGreaterThanOrEqual(0.9);
  }, 120_000);

  it("a SIGKILL at a random moment leaves every file readable, and the run resumes", async () => {
    const runs = tmp.path("killed");
    const child = spawn(process.execPath, ["--import", "tsx", root("src-main/cli/index.ts"), "train", "--model", base.model, "--dataset", base.dataset, "--runs", runs, "--steps", "30", "--batch", "2", "--group", "4", "--max-tokens", "16", "--checkpoint-every", "1", "--scheduler", "uniform", "--json"], {
      stdio: "ignore",
      // The malloc setting given, the command does not relaunch itself: the process killed is the one training.
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: "4194304" },
    });
    // Kill once the first checkpoint exists, at a random point of a later step.
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const runDir = existsSync(runs) ? readdirSync(runs)[0] : undefined;
        const ready = runDir && existsSync(join(runs, runDir, "checkpoints")) && readdirSync(join(runs, runDir, "checkpoints")).length > 0;
        if (ready || Date.now() - started > 120_000) {
          clearInterval(poll);
          setTimeout(() => { child.kill("SIGKILL"); resolve(); }, Math.floor(Math.random() * 1500));
        }
      }, 20);
    });
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
    expect(child.signalCode).toBe("SIGKILL"); // killed mid-run, not finished
    const runDir = join(runs, readdirSync(runs)[0]!);
    const store = await RunStore.open(runDir); // run.json and curriculum.json parse
    expect(store.run.data.config.steps).toBe(30);
    expect(store.latestCheckpoint()).not.toBeNull();
    const resumed = await RftRun.resume(runDir);
    expect(await resumed.run()).toBe("finished");
    expect(resumed.step).toBe(30);
    await resumed.dispose();
    const steps = (await RunStore.open(runDir)).readMetrics().map((m) => m.step as number);
    expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  }, 240_000);
});
