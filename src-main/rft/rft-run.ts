// The RFT loop. Each step: the curriculum chooses prompts (METIS first asks the policy to judge
// candidates), llama.cpp rolls out G completions per prompt with the current adapter, rewards
// are scored, group advantages computed, one update runs on the task loss plus λ · the
// self-judgment loss, the new adapter is written and hot-swapped, outcomes are recorded,
// metrics appended and events emitted. Pause, stop and config patches take effect at step
// boundaries; checkpoints make every step resumable.
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { emptyCurriculumState, type CurriculumState, type Judgment, type Selection } from "../curriculum/curriculum.js";
import { compactPrompt, parseJudgment } from "../curriculum/judgment-format.js";
import { evaluateRows, passes } from "../eval/evaluate.js";
import { judgmentReward, movingBaselineAdvantages, VARIANCE_SCALE } from "../curriculum/metis.js";
import { learningRateAt } from "./lr-schedule.js";
import { makeCurriculum } from "../curriculum/registry.js";
import { readTaskRows } from "../datasets/default-datasets.js";
import type { TaskRow } from "../datasets/task-row.js";
import { scoreCompletion } from "../rewards/score.js";
import { RolloutEngine, type Completion } from "../rollout/rollout-engine.js";
import { RunStore, type RunStatus } from "../store/run-store.js";
import { groupAdvantages } from "../train/advantages.js";
import { loadLatestGoodCheckpoint, saveCheckpoint } from "../train/checkpoint.js";
import { assertFiniteParams, assertFiniteStep } from "../train/finite-params.js";
import { exportLoraGguf } from "../train/llama/export.js";
import { loadLlamaWeights, type LlamaWeights } from "../train/llama/llama-weights.js";
import type { PolicySequence } from "../train/llama/policy-batch.js";
import { PolicyModel } from "../train/llama/policy-model.js";
import type { StepMetrics } from "../protocol/run-types.js";
import { Rng, type RngState } from "../util/rng.js";
import { mean, spearman, variance } from "../util/stats.js";
import { resolveRftConfig, RftPatchSchema, type RftConfig, type RftConfigInput, type RftPatch } from "./rft-config.js";
import { SamplesLog } from "./samples-file.js";

export type { PromptCell, StepMetrics } from "../protocol/run-types.js";

export type RftEvent =
  | { type: "step"; runId: string; metrics: StepMetrics }
  | { type: "status"; runId: string; status: RunStatus; step: number; error?: string }
  | { type: "checkpoint"; runId: string; step: number; dir: string }
  | { type: "patch"; runId: string; step: number; patch: RftPatch };

interface CheckpointExtra {
  rng: number[];
  curriculum: CurriculumState;
  /** history.jsonl's length at the checkpoint; resume cuts it back there. Absent in checkpoints from before the history was kept apart. */
  historyBytes?: number;
  /** Loop steps completed. Not the optimizer's update count: a step whose groups all had zero variance makes no update. */
  loopStep?: number;
}

/** The loop step a checkpoint directory was written after (its name: step-0000012). */
function stepOfCheckpointDir(dir: string): number {
  const m = /step-(\d+)(\.old)?$/.exec(dir);
  if (!m) throw new Error(`${dir}: not a checkpoint directory name`);
  return Number(m[1]);
}


/** A run in progress. */
export class RftRun {
  private pauseRequested = false;
  private stopRequested = false;
  private pendingPatch: RftPatch | null = null;
  private adapterPath: string | null = null;
  private adapterVersion = 0;
  private heldOutRows: TaskRow[] | null = null;
  private readonly embeddings = new Map<string, number[]>();
  private samples: SamplesLog | null = null;

  private constructor(
    readonly store: RunStore,
    private config: RftConfig,
    private readonly rows: TaskRow[],
    private readonly weights: LlamaWeights,
    private readonly policy: PolicyModel,
    /** The base model (LoRA B = 0), for the KL penalty's reference log-probs; null when klCoef is 0. */
    private readonly reference: PolicyModel | null,
    private readonly engine: RolloutEngine,
    private rng: Rng,
    private readonly emit: (e: RftEvent) => void,
  ) {}

  /** The run's id. */
  get id(): string {
    return this.store.run.data.id;
  }

  /** Steps completed. */
  get step(): number {
    return this.store.run.data.step;
  }

  /** Start a new run under `runsDir`. */
  static async create(runsDir: string, input: RftConfigInput, emit: (e: RftEvent) => void = () => undefined): Promise<RftRun> {
    const config = resolveRftConfig(input);
    const id = `${new Date().toISOString().replace(/[:.]/g, "-")}-${randomUUID().slice(0, 8)}`;
    const store = await RunStore.create(join(runsDir, id), { id, createdAt: new Date().toISOString(), config, status: "created", step: 0, history: [], lastCheckpoint: null, error: null });
    return RftRun.build(store, config, new Rng(config.seed), emit);
  }

  /** Continue a run from its last checkpoint (or from the start if it has none); `steps` extends (or shortens) its length. */
  static async resume(runDir: string, emit: (e: RftEvent) => void = () => undefined, options: { steps?: number } = {}): Promise<RftRun> {
    const store = await RunStore.open(runDir);
    const config = resolveRftConfig(store.run.data.config);
    const run = await RftRun.build(store, config, new Rng(config.seed), emit);
    // The newest checkpoint that loads (JSON, tensors, finite values, caller state); ones that do
    // not are reported and passed over for the previous good one.
    const loaded = loadLatestGoodCheckpoint<CheckpointExtra>(store, run.policy.engine, (extra) => {
      const e = extra as Partial<CheckpointExtra> | null;
      if (!e || !Array.isArray(e.rng) || typeof e.curriculum !== "object" || e.curriculum === null) throw new Error("its rng or curriculum state is missing");
    });
    for (const skipped of loaded?.skipped ?? []) console.warn(`metis: skipped checkpoint ${skipped.dir}: ${skipped.error}`);
    if (loaded) {
      const { meta, dir: checkpoint } = loaded;
      run.rng = new Rng(meta.extra.rng as unknown as RngState);
      // Checkpoints from before loopStep was stored are named after the loop step.
      const loopStep = meta.extra.loopStep ?? stepOfCheckpointDir(checkpoint);
      await store.curriculum.restore(meta.extra.curriculum, loopStep, meta.extra.historyBytes);
      store.run.data.step = loopStep;
      await run.swapAdapter(loopStep);
    } else {
      store.run.data.step = 0;
      await store.curriculum.restore(emptyCurriculumState(), 0, 0);
    }
    if (options.steps !== undefined && options.steps !== config.steps) {
      run.patch({ steps: options.steps });
      run.applyPatch();
    }
    await store.run.write();
    return run;
  }

  /** The run's current configuration (changes applied so far included). */
  get currentConfig(): Readonly<RftConfig> {
    return this.config;
  }

  /** Whether every configured step is done. */
  get finished(): boolean {
    return this.step >= this.config.steps;
  }

  private static async build(store: RunStore, config: RftConfig, rng: Rng, emit: (e: RftEvent) => void): Promise<RftRun> {
    const rows = readTaskRows(config.dataset);
    if (rows.length === 0) throw new Error(`${config.dataset}: no rows`);
    const weights = loadLlamaWeights(config.model);
    const lora = { kind: "lora", lora: { rank: config.loraRank, alpha: config.loraAlpha, targets: config.loraTargets }, seed: config.seed } as const;
    // The policy and its reference (KL) batch and pack the same way.
    const batching = { threads: config.threads, microBatchTokens: config.microBatchTokens, packPrefixes: config.packPrefixes, maxPackedWidth: config.maxPackedWidth };
    const policy = await PolicyModel.create(
      weights,
      lora,
      { kind: "grpo", policy: { clipLow: config.clipLow, clipHigh: config.clipHigh, aggregation: config.aggregation, klCoef: config.klCoef } },
      { hyper: { lr: config.learningRate, maxGradNorm: 1 }, ...batching },
    );
    const reference = config.klCoef > 0 ? await PolicyModel.create(weights, lora, { kind: "sft" }, batching) : null;
    const engine = await RolloutEngine.load({ modelPath: config.model, promptFormat: config.promptFormat, decoding: config.decoding });
    return new RftRun(store, config, rows, weights, policy, reference, engine, rng, emit);
  }

  /** Pause at the next step boundary (a checkpoint is written). */
  pause(): void {
    this.pauseRequested = true;
  }

  /** Stop at the next step boundary (a checkpoint is written). */
  stop(): void {
    this.stopRequested = true;
  }

  /** Change parameters from the next step on; validated now, recorded in the run's history when applied. */
  patch(patch: RftPatch): void {
    const parsed = RftPatchSchema.safeParse(patch);
    if (!parsed.success) throw new Error(`invalid change: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    this.pendingPatch = { ...this.pendingPatch, ...parsed.data };
  }

  private async setStatus(status: RunStatus, error?: string): Promise<void> {
    this.store.run.data.status = status;
    this.store.run.data.error = error ?? null;
    await this.store.run.write();
    this.emit({ type: "status", runId: this.id, status, step: this.step, ...(error ? { error } : {}) });
  }

  /** Run until the configured steps are done, or pause/stop is requested. Returns the final status. */
  async run(): Promise<RunStatus> {
    // A finished run stays as it is: nothing to train, nothing to rewrite.
    if (this.finished && this.store.run.data.status === "finished") return "finished";
    this.pauseRequested = false;
    await this.setStatus("running");
    try {
      while (this.step < this.config.steps) {
        if (this.stopRequested || this.pauseRequested) break;
        this.applyPatch();
        await this.runStep();
        if (this.step % this.config.checkpointEvery === 0) await this.checkpoint();
      }
      // Inside the try: a checkpoint that cannot be written fails the run instead of leaving it "running".
      await this.checkpoint();
    } catch (e) {
      await this.setStatus("failed", (e as Error).message);
      throw e;
    }
    const status: RunStatus = this.stopRequested ? "stopped" : this.pauseRequested ? "paused" : "finished";
    await this.setStatus(status);
    return status;
  }

  private applyPatch(): void {
    if (!this.pendingPatch) return;
    const patch = this.pendingPatch;
    this.pendingPatch = null;
    // The configured values replaced: a scheduled learning rate in the metrics is not the rate that was set.
    const before = Object.fromEntries(Object.keys(patch).map((k) => [k, this.config[k as keyof RftConfig]])) as Partial<RftConfig>;
    this.config = resolveRftConfig({ ...this.config, ...patch });
    this.store.run.data.config = this.config;
    this.store.run.data.history.push({ step: this.step, at: new Date().toISOString(), patch, before });
    this.emit({ type: "patch", runId: this.id, step: this.step, patch });
  }

  /** True when the run's prompts go through the model's chat template. */
  get usesChatTemplate(): boolean {
    return this.engine.usesChatTemplate;
  }

  /** Write a checkpoint of the current step. */
  async checkpoint(): Promise<string> {
    const dir = this.store.checkpointDir(this.step);
    saveCheckpoint<CheckpointExtra & { config: RftConfig }>(dir, this.policy.engine, { rng: [...this.rng.state()], curriculum: this.store.curriculum.state, historyBytes: this.store.curriculum.historyBytes, config: this.config, loopStep: this.step });
    this.store.run.data.lastCheckpoint = dir;
    await this.store.run.write();
    this.emit({ type: "checkpoint", runId: this.id, step: this.step, dir });
    return dir;
  }

  /** Write the adapter holding the weights after `step` and hot-swap it in. */
  private async swapAdapter(step: number): Promise<void> {
    // One file per weight version: llama.cpp caches adapters by path.
    this.adapterVersion++;
    const path = join(this.store.dir, `adapter-${String(step).padStart(7, "0")}-${this.adapterVersion}.gguf`);
    exportLoraGguf(path, this.weights.config, { rank: this.config.loraRank, alpha: this.config.loraAlpha, targets: this.config.loraTargets }, this.policy.loraPairs());
    await this.engine.setAdapter(path);
    // Every version has its own file (llama.cpp caches adapters by path); the old one is no longer needed.
    if (this.adapterPath && this.adapterPath !== path) rmSync(this.adapterPath, { force: true });
    this.adapterPath = path;
  }

  /** Base-model embeddings of prompts, cached: they do not change during a run. */
  private async embed(prompts: readonly string[]): Promise<number[][]> {
    const missing = [...new Set(prompts.filter((p) => !this.embeddings.has(p)))];
    if (missing.length > 0) (await this.engine.embed(missing)).forEach((v, i) => this.embeddings.set(missing[i]!, v));
    return prompts.map((p) => this.embeddings.get(p)!);
  }

  private async judge(prompts: { id: string; prompt: string }[]): Promise<Judgment[]> {
    if (prompts.length === 0) return [];
    const batch = await this.engine.generate(prompts.map((p) => p.prompt), this.config.metisJudgmentSamples, { temperature: 1, maxTokens: 8, seed: this.rng.nextU32(), stop: ["\n"], logprobs: this.config.oldLogProbs === "sampler", tree: true });
    return prompts.map((p, i) => {
      const completions = batch.completions[i]!.map((c) => ({ text: c.text, promptTokens: c.promptTokens, tokens: c.tokens, evaluatedPromptTokens: c.evaluatedPromptTokens, evaluatedTokens: c.evaluatedTokens, ...(c.logprobs ? { logprobs: c.logprobs } : {}), predicted: parseJudgment(c.text) }));
      // A variance of a reward in [0, 1] lies in [0, 0.25]: predictions are clamped there for allocation.
      const parsed = completions.map((c) => c.predicted).filter((v): v is number => v !== null).map((v) => Math.min(v, VARIANCE_SCALE));
      return { id: p.id, prompt: p.prompt, completions, predicted: parsed.length > 0 ? mean(parsed) : null };
    });
  }

  private async rollOut(rows: readonly TaskRow[]): Promise<{ rows: TaskRow[]; completions: Completion[][]; rewards: (number | null)[][]; tokens: number; ms: number; rewardMs: number }> {
    if (rows.length === 0) return { rows: [], completions: [], rewards: [], tokens: 0, ms: 0, rewardMs: 0 };
    const batch = await this.engine.generate(rows.map((r) => r.prompt), this.config.groupSize, { temperature: this.config.temperature, maxTokens: this.config.maxTokens, seed: this.rng.nextU32(), logprobs: this.samplerLogProbs() });
    const rewardStart = performance.now();
    const rewards = await Promise.all(rows.map((r, i) => Promise.all(batch.completions[i]!.map((c) => scoreCompletion(r.reward, c.text)))));
    return { rows: [...rows], completions: batch.completions, rewards, tokens: batch.generatedTokens, ms: batch.wallMs, rewardMs: performance.now() - rewardStart };
  }

  /** Whether the sampler's log-probs serve as the PPO ratio's old log-probs (at temperature 1 they are the policy's own). */
  private samplerLogProbs(): boolean {
    return this.config.oldLogProbs === "sampler" && this.config.temperature === 1;
  }

  private async runStep(): Promise<void> {
    const t0 = performance.now();
    const step = this.step + 1;
    const state = this.store.curriculum.state;
    const curriculum = makeCurriculum(this.config.scheduler, {
      poolFactor: this.config.metisPoolFactor, window: this.config.metisWindow, examples: this.config.metisExamples, exploration: this.config.metisExploration,
    });
    // Where a step's time goes (milliseconds), reported in the metrics' info.
    const timing = { select: 0, judge: 0, rollout: 0, reward: 0, update: 0, eval: 0 };
    const selectStart = performance.now();
    const selection: Selection = await curriculum.select(this.rows, state, {
      step, rng: this.rng, batchSize: this.config.batchSize,
      embed: (prompts) => this.embed(prompts),
      judge: async (p) => {
        const t = performance.now();
        const out = await this.judge(p);
        timing.judge += performance.now() - t;
        return out;
      },
    });
    timing.select = performance.now() - selectStart - timing.judge;

    // Roll out; DAPO keeps only groups with signal, refilling from its reserve.
    let rolled = await this.rollOut(selection.chosen);
    let wasted = 0;
    const allGroups: { row: TaskRow; rewards: (number | null)[]; completions: Completion[] }[] = rolled.rows.map((row, i) => ({ row, rewards: rolled.rewards[i]!, completions: rolled.completions[i]! }));
    if (selection.filterZeroVariance) {
      const keep = (rw: (number | null)[]): boolean => variance(rw.filter((r): r is number => r !== null)) > 0;
      const kept = { rows: [] as TaskRow[], completions: [] as Completion[][], rewards: [] as (number | null)[][], tokens: rolled.tokens, ms: rolled.ms, rewardMs: rolled.rewardMs };
      const take = (r: typeof rolled): void => r.rows.forEach((row, i) => {
        if (keep(r.rewards[i]!) && kept.rows.length < this.config.batchSize) {
          kept.rows.push(row); kept.completions.push(r.completions[i]!); kept.rewards.push(r.rewards[i]!);
        } else wasted += this.config.groupSize;
      });
      take(rolled);
      let reserve = [...(selection.reserve ?? [])];
      while (kept.rows.length < this.config.batchSize && reserve.length > 0) {
        const next = reserve.slice(0, this.config.batchSize - kept.rows.length);
        reserve = reserve.slice(next.length);
        const more = await this.rollOut(next);
        kept.tokens += more.tokens; kept.ms += more.ms; kept.rewardMs += more.rewardMs;
        more.rows.forEach((row, i) => allGroups.push({ row, rewards: more.rewards[i]!, completions: more.completions[i]! }));
        take(more);
      }
      rolled = kept;
    }

    timing.rollout = rolled.ms;
    timing.reward = rolled.rewardMs;

    // Task sequences and advantages.
    const advantages = groupAdvantages(rolled.rewards, { scaleByStd: this.config.scaleAdvantages, eps: 1e-6 });
    const sequences: PolicySequence[] = [];
    const seqAdvantages: number[] = [];
    /**
     * The sampler's log-probs of each sequence's completion (present only where they were asked
     * for: see samplerLogProbs and judge); null where one is missing, and then all are recomputed.
     */
    const seqOldLogp: (readonly number[] | null)[] = [];
    const samplerLogp = (c: { tokens: readonly number[]; logprobs?: readonly number[] }): readonly number[] | null =>
      c.logprobs && c.logprobs.length === c.tokens.length && c.logprobs.every(Number.isFinite) ? c.logprobs : null;
    rolled.completions.forEach((group, i) => group.forEach((c, g) => {
      if (advantages[i]![g] === 0) return;
      sequences.push({ tokens: [...c.promptTokens, ...c.tokens], completionStart: c.promptTokens.length });
      seqAdvantages.push(advantages[i]![g]!);
      seqOldLogp.push(samplerLogp(c));
    }));

    const taskSequences = sequences.length;

    // Outcomes, and the self-judgment reward of each rolled-out prompt's judgments.
    const observed = new Map<string, { mean: number; variance: number }>();
    for (const g of allGroups) {
      const scored = g.rewards.filter((r): r is number => r !== null);
      const outcome = { mean: mean(scored), variance: variance(scored) };
      observed.set(g.row.id, outcome);
      this.store.curriculum.recordOutcome(g.row.id, { step, ...outcome, samples: scored.length });
    }
    const judged: { completions: Judgment["completions"]; rewards: number[] }[] = [];
    const judgedPairs: { predicted: number; observed: number }[] = [];
    let judgmentTrainTokens = 0;
    /** The joint objective: task loss + λ · judgment loss, as λ-scaled advantages in one batch. */
    const addJudgment = (c: Judgment["completions"][number], advantage: number): void => {
      if (advantage === 0) return;
      sequences.push({ tokens: [...c.promptTokens, ...c.tokens], completionStart: c.promptTokens.length });
      judgmentTrainTokens += c.promptTokens.length + c.tokens.length;
      seqAdvantages.push(this.config.judgmentWeight * advantage);
      seqOldLogp.push(samplerLogp(c));
    };
    for (const j of selection.judgments ?? []) {
      this.store.curriculum.recordPrediction(j.id, step, j.predicted);
      const obs = observed.get(j.id);
      if (!obs) continue;
      if (j.predicted !== null) judgedPairs.push({ predicted: j.predicted, observed: obs.variance });
      if (this.config.judgmentWeight === 0) continue;
      const jr = j.completions.map((c) => judgmentReward(c.predicted, obs.variance, this.config.judgmentReward));
      if (this.config.judgmentBaseline === "moving-average") {
        judged.push({ completions: j.completions, rewards: jr });
        continue;
      }
      const [ja] = groupAdvantages([jr], { scaleByStd: this.config.scaleAdvantages, eps: 1e-6 });
      j.completions.forEach((c, k) => addJudgment(c, ja![k]!));
    }

    // The paper's judgment update: REINFORCE against a moving average of judgment rewards.
    if (judged.length > 0 && this.config.judgmentWeight > 0) {
      const all = judged.flatMap((g) => g.completions.map((c, k) => ({ c, r: g.rewards[k]! })));
      const { advantages, baseline } = movingBaselineAdvantages(all.map((x) => x.r), state.judgmentBaseline ?? null);
      state.judgmentBaseline = baseline;
      all.forEach(({ c }, k) => addJudgment(c, advantages[k]!));
    }

    // "separate": the judgment loss is a mean over its own tokens, weighted λ (the paper's task
    // loss + λ · judgment loss); "joint" shares one token mean with the task, so its weight is
    // λ × its share of the batch's completion tokens (about a tenth on the built-in suite).
    if (this.config.judgmentNormalization === "separate" && sequences.length > taskSequences) {
      const completionTokens = (q: PolicySequence): number => q.tokens.length - q.completionStart;
      const taskTokens = sequences.slice(0, taskSequences).reduce((n, q) => n + completionTokens(q), 0);
      const judgmentTokens = sequences.slice(taskSequences).reduce((n, q) => n + completionTokens(q), 0);
      const scale = taskTokens > 0 ? taskTokens / judgmentTokens : 1;
      for (let i = taskSequences; i < sequences.length; i++) seqAdvantages[i]! *= scale;
    }

    let update = { loss: 0, gradNorm: 0, metrics: {} as Record<string, number> };
    const learningRate = learningRateAt(this.config.learningRateSchedule, this.config.learningRate, step, this.config.steps);
    this.policy.engine.setLearningRate(learningRate);
    const updateStart = performance.now();
    if (sequences.length > 0) {
      const refLogp = this.reference ? await this.reference.logProbs(sequences) : undefined;
      // One update per batch: the policy that sampled is the policy updated, so llama.cpp's
      // log-probs of the sampled tokens stand for the graph's (measured within 1e-4) and the
      // forward pass that would recompute them is saved.
      const oldLogp = seqOldLogp.every((l) => l !== null) ? (seqOldLogp as (readonly number[])[]) : undefined;
      update = await this.policy.update(sequences, { advantages: seqAdvantages, ...(oldLogp ? { oldLogp } : {}), ...(refLogp ? { refLogp } : {}) });
      // A non-finite loss or weight ends the run with a clear error before anything is saved from it.
      assertFiniteStep(update, `${this.store.dir}: step ${step}`);
      assertFiniteParams(this.policy.engine, `${this.store.dir}: after step ${step}`);
      await this.swapAdapter(step);
    }

    const flat = rolled.rewards.flat().filter((r): r is number => r !== null);
    const predictions = new Map((selection.judgments ?? []).map((j) => [j.id, j.predicted]));
    timing.update = performance.now() - updateStart;
    const evalStart = performance.now();
    const heldOut = await this.maybeEvaluate(step);
    timing.eval = performance.now() - evalStart;
    const metrics: StepMetrics = {
      step,
      scheduler: this.config.scheduler,
      rewardMean: mean(flat),
      passRate: mean(rolled.rewards.flatMap((group, i) => group.filter((r): r is number => r !== null).map((r) => (passes(rolled.rows[i]!.reward.kind, r) ? 1 : 0)))),
      zeroVarianceShare: mean(allGroups.map((g) => (observed.get(g.row.id)!.variance === 0 ? 1 : 0))),
      loss: update.loss,
      gradNorm: update.gradNorm,
      clipFrac: update.metrics["policy/clipFrac"] ?? 0,
      learningRate,
      rolloutTokens: rolled.tokens,
      rolloutTokensPerSecond: rolled.ms > 0 ? rolled.tokens / (rolled.ms / 1000) : 0,
      stepMs: performance.now() - t0,
      judgeAbsError: judgedPairs.length > 0 ? mean(judgedPairs.map((p) => Math.abs(p.predicted - p.observed))) : null,
      // Range-restricted (see its doc comment): kept for older readers, not shown as the judge's quality.
      judgeSpearman: spearman(judgedPairs.map((p) => p.predicted), judgedPairs.map((p) => p.observed)),
      judgeParseFailures: selection.info["metis/parseFailures"] ?? 0,
      wastedRollouts: wasted,
      // METIS says which prompts its judge picked and which exploration did (judge-picks.ts compares them).
      cells: allGroups.map((g) => {
        const pick = selection.picks?.[g.row.id];
        const examplesMean = selection.examplesMean?.[g.row.id];
        return { id: g.row.id, ...observed.get(g.row.id)!, predicted: predictions.get(g.row.id) ?? null, ...(pick ? { pick } : {}), ...(examplesMean !== undefined ? { examplesMean } : {}) };
      }),
      heldOutPassRate: heldOut?.passRate ?? null,
      heldOutReward: heldOut?.meanReward ?? null,
      judgmentExamples: (selection.examples ?? []).map((e) => ({ prompt: compactPrompt(e.prompt), variance: e.variance })),
      info: {
        ...selection.info,
        ...Object.fromEntries(Object.entries(timing).map(([k, v]) => [`time/${k}Ms`, Math.round(v)])),
        // Tokens llama.cpp computed for the rollouts (prompts as far as not cached, completions): METIS's judgment cost is measured against it.
        "rollout/tokensEvaluated": rolled.completions.flat().reduce((n, c) => n + c.evaluatedTokens, 0),
        "train/trainTokens": sequences.reduce((n, q) => n + q.tokens.length, 0),
        "train/judgmentTrainTokens": judgmentTrainTokens,
        ...(update.metrics["kl/ref"] === undefined ? {} : { "kl/ref": update.metrics["kl/ref"] }),
        // The whole process's resident memory (rollout engine, sessions, the host): what a user's machine feels.
        "memory/rssMB": Math.round(process.memoryUsage().rss / 2 ** 20),
        ...heldOut?.byFamily,
      },
    };
    this.recordSamples(step, allGroups, rolled.rows, advantages, selection.judgments ?? []);
    this.store.run.data.step = step;
    this.store.appendMetrics(metrics);
    await this.store.curriculum.commitStep(step);
    await this.store.run.write();
    this.emit({ type: "step", runId: this.id, metrics });
  }

  /** Append the step's completions (rewards, advantages) and METIS judgments to samples.jsonl: what the heatmap's cells open. */
  private recordSamples(step: number, groups: readonly { row: TaskRow; rewards: (number | null)[]; completions: Completion[] }[], trained: readonly TaskRow[], advantages: number[][], judgments: readonly Judgment[]): void {
    const judgmentOf = new Map(judgments.map((j) => [j.id, j]));
    this.samples ??= new SamplesLog(this.store.dir);
    this.samples.append({
      step,
      prompts: groups.map((g) => {
        const k = trained.indexOf(g.row), j = judgmentOf.get(g.row.id);
        return {
          id: g.row.id,
          completions: g.completions.map((c, i) => ({ text: c.text, reward: g.rewards[i] ?? null, advantage: k < 0 ? null : advantages[k]![i]!, finishReason: c.finishReason })),
          ...(j ? { judgment: { prompt: j.prompt, answers: j.completions.map((c) => ({ text: c.text, predicted: c.predicted })), predicted: j.predicted } } : {}),
        };
      }),
    });
  }

  /** The held-out pass rate, every evalEvery steps (and at the first), on a fixed subset. */
  private async maybeEvaluate(step: number): Promise<{ passRate: number; meanReward: number; byFamily: Record<string, number> } | null> {
    if (!this.config.evalDataset || (step !== 1 && step % this.config.evalEvery !== 0)) return null;
    this.heldOutRows ??= readTaskRows(this.config.evalDataset).slice(0, this.config.evalItems);
    const report = await evaluateRows(this.engine, this.heldOutRows, this.config.evalSamples, { temperature: this.config.temperature, maxTokens: this.config.maxTokens, seed: step });
    // Per family too, so a curriculum that trades one family for another is seen doing it.
    const families = [...new Set(report.items.map((i) => i.family))].sort();
    const byFamily = Object.fromEntries(families.map((f) => [`heldOut/${f}`, mean(report.items.filter((i) => i.family === f).map((i) => i.passRate))]));
    return { passRate: report.overall.passRate, meanReward: report.overall.meanReward, byFamily };
  }

  /** Free the engine and sessions. Safe to call more than once. */
  async dispose(): Promise<void> {
    await Promise.all([this.engine.dispose(), this.policy.dispose(), this.reference?.dispose()]);
  }
}
