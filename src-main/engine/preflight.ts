// Checks made when a run starts, before its directory is created: a dataset whose prompts cannot
// fit the model's context would otherwise fail at whichever step first picks one (HumanEval on the
// built-in model died at step 2 on a 1 265-token prompt against a 1 024-token context); a run
// whose estimated memory exceeds the machine's would swap or be killed; a dataset the base model
// always fails (or always solves) gives GRPO no signal (GSM8K on the built-in model ran on with
// reward 0 and 100 % zero-variance groups, and nothing said so).
import os from "node:os";
import { basename } from "node:path";
import { readTaskRows } from "../datasets/default-datasets.js";
import type { TaskRow } from "../datasets/task-row.js";
import { passes } from "../eval/evaluate.js";
import { scoreCompletion } from "../rewards/score.js";
import type { PreflightResult } from "../protocol/preflight.js";
import type { RftConfig } from "../rft/rft-config.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { Rng } from "../util/rng.js";
import { mean, variance } from "../util/stats.js";
import { estimateRun, readModelShape, type EstimateSettings, type ModelShape, type RunEstimate } from "./memory-estimate.js";

/** How a dataset's prompts fit a context window. */
export interface PromptFit {
  /** Prompts checked. */
  total: number;
  /** Prompts whose tokens plus `maxTokens` exceed the context. */
  tooLong: number;
  /** Tokens of the longest prompt. */
  longest: number;
  contextSize: number;
  maxTokens: number;
}

/** Count the prompts that cannot fit: prompt tokens + maxTokens > contextSize. */
export function measurePromptFit(prompts: readonly string[], tokenize: (text: string) => number[], contextSize: number, maxTokens: number): PromptFit {
  let tooLong = 0;
  let longest = 0;
  for (const p of prompts) {
    const n = tokenize(p).length;
    longest = Math.max(longest, n);
    if (n + maxTokens > contextSize) tooLong++;
  }
  return { total: prompts.length, tooLong, longest, contextSize, maxTokens };
}

/** A run refused at start because some prompts cannot fit the model's context. */
export class PromptsTooLongError extends Error {
  override name = "PromptsTooLongError";
  constructor(
    readonly dataset: string,
    readonly fit: PromptFit,
  ) {
    super(promptFitMessage(basename(dataset), fit));
  }
}

/** What to tell the user about prompts that do not fit, naming how many and what to change. */
export function promptFitMessage(dataset: string, f: PromptFit): string {
  const room = f.contextSize - f.longest;
  const fix = room >= 1
    ? `lower Max tokens to ${room} or less, use a model with a longer context, or remove the long prompts from the dataset`
    : `the longest prompt alone (${f.longest} tokens) does not fit, so no Max tokens does: use a model with a longer context, or remove the long prompts from the dataset`;
  return `${dataset}: ${f.tooLong} of ${f.total} prompts cannot fit the model's context: prompt tokens + Max tokens (${f.maxTokens}) > ${f.contextSize} tokens (the longest prompt is ${f.longest} tokens). To train on it, ${fix}.`;
}

/**
 * Refuse a run whose training (or held-out) prompts cannot all fit the model's context.
 * Refused rather than skipped: a run that silently trains on a subset is not the dataset the user
 * chose, and its curves would not compare with another model's runs on it; the message says how
 * many prompts and what to change, and the user decides (a shorter Max tokens keeps every prompt).
 */
export async function checkPromptsFit(config: RftConfig): Promise<void> {
  const sets: { path: string; prompts: string[] }[] = [{ path: config.dataset, prompts: readTaskRows(config.dataset).map((r) => r.prompt) }];
  // Only the held-out rows the run measures (the first evalItems).
  if (config.evalDataset) sets.push({ path: config.evalDataset, prompts: readTaskRows(config.evalDataset).slice(0, config.evalItems).map((r) => r.prompt) });
  const engine = await RolloutEngine.load({ modelPath: config.model, promptFormat: config.promptFormat });
  try {
    for (const s of sets) {
      const fit = measurePromptFit(s.prompts, (t) => engine.promptTokens(t), engine.trainContextSize, config.maxTokens);
      if (fit.tooLong > 0) throw new PromptsTooLongError(s.path, fit);
    }
  } finally {
    await engine.dispose();
  }
}

// ---- Memory and time ----

/** Share of the available memory a run may be estimated to use (the estimate's error, other programs' growth). */
export const MEMORY_MARGIN = 0.9;

/** Memory the machine can give a run, MB: free memory (MemAvailable on Linux), within a cgroup limit when one is set. */
export function availableMemoryMB(): { availableMB: number; totalMB: number } {
  const constrained = typeof process.constrainedMemory === "function" ? process.constrainedMemory() : 0;
  const total = constrained > 0 && constrained < os.totalmem() ? constrained : os.totalmem();
  return { availableMB: Math.min(os.freemem(), total) / 2 ** 20, totalMB: total / 2 ** 20 };
}

/** The estimate against the machine, with what to change when it does not fit. */
export interface MemoryCheck {
  estimate: RunEstimate;
  availableMB: number;
  totalMB: number;
  fits: boolean;
  /** Settings that would fit, each changed alone ("Prompts per step 8 → 2"); empty when it fits. */
  suggestions: string[];
  /** The refusal, naming the estimate, the memory and the suggestions; null when it fits. */
  message: string | null;
}

/** The estimate's settings from a run config and the longest prompt's tokens. */
export function estimateSettings(config: RftConfig, promptTokens: number): EstimateSettings {
  return { batchSize: config.batchSize, groupSize: config.groupSize, maxTokens: config.maxTokens, loraRank: config.loraRank, microBatchTokens: config.microBatchTokens, promptTokens, loraTargets: config.loraTargets.length, klCoef: config.klCoef };
}

const GB = (mb: number): string => `${(mb / 1024).toFixed(1)} GB`;

/** Labels of the settings a refusal suggests, as the New run screen and `metis train` name them. */
const KNOBS: { key: "batchSize" | "groupSize" | "maxTokens" | "loraRank" | "microBatchTokens"; label: string; cli: string; min: number }[] = [
  { key: "batchSize", label: "Prompts per step", cli: "--batch", min: 1 },
  { key: "groupSize", label: "Group size", cli: "--group", min: 2 },
  { key: "maxTokens", label: "Max tokens", cli: "--max-tokens", min: 8 },
  { key: "loraRank", label: "LoRA rank", cli: "--lora-rank", min: 1 },
  { key: "microBatchTokens", label: "Micro-batch tokens", cli: "--micro-batch-tokens", min: 64 },
];

/**
 * Compare a run's estimate with the memory available. When it does not fit, each setting is
 * halved on its own until the run would fit (or reaches its minimum) and the ones that get
 * there are suggested with their value.
 */
export function checkMemory(shape: ModelShape, settings: EstimateSettings, memory = availableMemoryMB()): MemoryCheck {
  const estimate = estimateRun(shape, settings);
  const limit = memory.availableMB * MEMORY_MARGIN;
  const fits = estimate.memory.totalMB <= limit;
  const suggestions: string[] = [];
  if (!fits) {
    for (const k of KNOBS) {
      let v = settings[k.key];
      while (v > k.min && estimateRun(shape, { ...settings, [k.key]: v }).memory.totalMB > limit) v = Math.max(k.min, Math.floor(v / 2));
      if (v !== settings[k.key] && estimateRun(shape, { ...settings, [k.key]: v }).memory.totalMB <= limit) suggestions.push(`${k.label} ${settings[k.key]} → ${v} (${k.cli} ${v})`);
    }
  }
  // No one setting is enough: halve them in turn, together, until it fits (or none can go lower).
  if (!fits && suggestions.length === 0) {
    const together = { ...settings };
    const over = (): boolean => estimateRun(shape, together).memory.totalMB > limit;
    for (let moved = true; over() && moved; ) {
      moved = false;
      for (const k of KNOBS) {
        if (!over() || together[k.key] <= k.min) continue;
        together[k.key] = Math.max(k.min, Math.floor(together[k.key] / 2));
        moved = true;
      }
    }
    if (!over()) suggestions.push(`together: ${KNOBS.filter((k) => together[k.key] !== settings[k.key]).map((k) => `${k.label} ${settings[k.key]} → ${together[k.key]} (${k.cli} ${together[k.key]})`).join(", ")}`);
  }
  const m = estimate.memory;
  const message = fits
    ? null
    : `This run needs about ${GB(m.totalMB)} of memory (model weights ${GB(m.weightsMB + m.llamaMB)}, ${GB(m.setupMB + m.llamaMB)} while the training sessions are built; update activations ${GB(m.activationsMB)}, the rest ${GB(m.runtimeMB + m.kvCacheMB + m.loraMB)}); ${GB(memory.availableMB)} is available (${GB(memory.totalMB)} in all), so it would swap or be killed. ` +
      (suggestions.length > 0
        ? `${suggestions[0]!.startsWith("together") ? "These settings" : "Any one of these"} would fit: ${suggestions.join("; ")}. `
        : `No setting brings it under: the model's weights alone need ${GB(m.runtimeMB + Math.max(m.setupMB, m.weightsMB) + m.llamaMB)}; use a smaller model or a machine with more memory. `) +
      "If you know better, start anyway (--force, or the confirmation at New run).";
  return { estimate, availableMB: memory.availableMB, totalMB: memory.totalMB, fits, suggestions, message };
}

/** A run refused at start because its estimated memory exceeds what the machine has. */
export class MemoryEstimateError extends Error {
  override name = "MemoryEstimateError";
  constructor(readonly check: MemoryCheck) {
    super(check.message ?? "the run's memory estimate exceeds the available memory");
  }
}

/**
 * Tokens of the longest prompt without loading the model: bytes + BOS for a byte vocabulary,
 * about a third of the bytes (plus a chat template's few tokens) for a BPE one. The full
 * pre-flight counts them with the model's tokenizer.
 */
export function approximatePromptTokens(prompts: readonly string[], vocab: number): number {
  const bytes = Math.max(0, ...prompts.map((p) => Buffer.byteLength(p)));
  return vocab <= 512 ? bytes + 1 : Math.ceil(bytes / 3) + 16;
}

// ---- Baseline sample ----

/** What the base model does on a small sample of the training prompts. */
export interface BaselineReport {
  prompts: number;
  samplesPerPrompt: number;
  maxTokens: number;
  /** Share of completions that pass (reward ≥ the pass threshold). */
  passRate: number;
  meanReward: number;
  /** Groups (one per prompt) whose scored rewards are all equal: no GRPO signal. */
  zeroVarianceGroups: number;
  /** Completions cut at Max tokens. */
  truncated: number;
  seconds: number;
  /** True when the time limit stopped it before all `BASELINE_PROMPTS` prompts. */
  timeLimited: boolean;
  /** What to tell the user when the sample shows (almost) no learning signal; null otherwise. */
  warning: string | null;
}

/** Sample size: 8 prompts × the group size (at most 8 per prompt). */
export const BASELINE_PROMPTS = 8;
export const BASELINE_MAX_SAMPLES = 8;
/** Pass rates at or below / at or above these leave (almost) nothing to learn from. */
export const BASELINE_LOW = 0.02;
export const BASELINE_HIGH = 0.98;
/**
 * The sample stops taking new prompts after this many seconds (with at least
 * `BASELINE_MIN_PROMPTS` sampled): on the built-in model it takes ~2 s, but a 0.5B model on a
 * 2-core CPU decodes ~16 tokens/s, and 8 × 8 completions of 96 tokens would hold the start ~6 min.
 */
export const BASELINE_TIME_LIMIT_S = 60;
/** Prompts sampled together, and the fewest a time-limited sample keeps. */
export const BASELINE_MIN_PROMPTS = 2;
/** Mixes the run's seed into the sample's own (the run's random stream is never drawn from). */
const BASELINE_SEED_SALT = 0x5eed_ba5e;

/**
 * Sample up to `BASELINE_PROMPTS` training prompts with the base model (the run's temperature and
 * Max tokens, a seed of its own), `BASELINE_MIN_PROMPTS` at a time until `timeLimitSeconds` have
 * passed, and score them. Its Rng is separate from the run's, and the run builds its own rollout
 * engine, so a run is the same with and without this sample.
 */
export async function sampleBaseline(engine: RolloutEngine, rows: readonly TaskRow[], config: Pick<RftConfig, "seed" | "groupSize" | "maxTokens" | "temperature">, timeLimitSeconds = BASELINE_TIME_LIMIT_S): Promise<BaselineReport> {
  const t0 = performance.now();
  const rng = new Rng((config.seed ^ BASELINE_SEED_SALT) >>> 0);
  const candidates = rng.shuffle([...rows]).slice(0, BASELINE_PROMPTS);
  const samples = Math.min(config.groupSize, BASELINE_MAX_SAMPLES);
  const picked: TaskRow[] = [];
  const completions: { text: string; finishReason: string }[][] = [];
  while (picked.length < candidates.length) {
    if (picked.length >= BASELINE_MIN_PROMPTS && (performance.now() - t0) / 1000 >= timeLimitSeconds) break;
    const chunk = candidates.slice(picked.length, picked.length + BASELINE_MIN_PROMPTS);
    const batch = await engine.generate(chunk.map((r) => r.prompt), samples, { temperature: config.temperature, maxTokens: config.maxTokens, seed: rng.nextU32() });
    picked.push(...chunk);
    completions.push(...batch.completions);
  }
  const timeLimited = picked.length < candidates.length;
  const groups = await Promise.all(picked.map((r, i) => Promise.all(completions[i]!.map((c) => scoreCompletion(r.reward, c.text)))));
  const scored = groups.flatMap((g, i) => g.flatMap((v) => (v === null ? [] : [{ kind: picked[i]!.reward.kind, v }])));
  const passRate = scored.length === 0 ? 0 : scored.filter((x) => passes(x.kind, x.v)).length / scored.length;
  const meanReward = scored.length === 0 ? 0 : mean(scored.map((x) => x.v));
  const zeroVarianceGroups = groups.filter((g) => variance(g.filter((v): v is number => v !== null)) === 0).length;
  const truncated = completions.flat().filter((c) => c.finishReason === "length").length;
  const report = { prompts: picked.length, samplesPerPrompt: samples, maxTokens: config.maxTokens, passRate, meanReward, zeroVarianceGroups, truncated, seconds: (performance.now() - t0) / 1000, timeLimited, warning: null };
  return { ...report, warning: baselineWarning(report) };
}

/**
 * The warning for a baseline with (almost) no learning signal: a pass rate near 0 or 100 %
 * (binary rewards; the mean reward agrees for continuous ones), or every group with equal
 * rewards. A warning, not a refusal: a run may still find signal on prompts the sample missed.
 */
export function baselineWarning(b: Omit<BaselineReport, "warning">): string | null {
  const n = b.prompts * b.samplesPerPrompt;
  const allFlat = b.prompts > 0 && b.zeroVarianceGroups === b.prompts;
  const low = b.passRate <= BASELINE_LOW && b.meanReward <= 0.1;
  const high = b.passRate >= BASELINE_HIGH || b.meanReward >= 0.98;
  if (!low && !high && !allFlat) return null;
  const what = `the base model passed ${(b.passRate * 100).toFixed(0)} % of ${n} sampled completions (${b.prompts} prompts × ${b.samplesPerPrompt}, mean reward ${b.meanReward.toFixed(2)}) and ${b.zeroVarianceGroups} of ${b.prompts} groups had the same reward for every completion`;
  const cut = b.truncated > 0 ? ` ${b.truncated} of ${n} completions were cut at Max tokens (${b.maxTokens}): give it more tokens.` : "";
  if (high) return `Little to learn: ${what}. GRPO learns only from groups whose rewards differ. Use a harder dataset, or a higher temperature for more varied answers.`;
  return `No learning signal yet: ${what}. GRPO learns only from groups whose rewards differ, so this run would make few or no updates.${cut} Try an easier dataset (or check that its answers are in the form the reward reads), more Max tokens, a larger or instruction-tuned model, or a higher temperature.`;
}

// ---- The whole pre-flight ----

/** The pre-flight report a run keeps in its directory. */
export const PREFLIGHT_FILE = "preflight.json";

/** What the pre-flight found; warnings do not stop a run. */
export interface PreflightReport {
  memory: MemoryCheck;
  shape: ModelShape;
  promptTokens: number;
  baseline: BaselineReport | null;
  warnings: string[];
  seconds: number;
}

/** Options: skip the baseline sample; start even when the memory estimate does not fit. */
export interface PreflightOptions {
  baseline?: boolean;
  force?: boolean;
}

/**
 * Everything checked before a run's first step, with one model load: prompts that cannot fit
 * the context (refused), the memory estimate (refused unless `force`), the baseline sample
 * (unless `baseline` is false). The run loads its own model afterwards (RftRun builds its
 * engine itself), so this load is not passed on.
 */
export async function runPreflight(config: RftConfig, options: PreflightOptions = {}): Promise<PreflightReport> {
  const t0 = performance.now();
  const shape = readModelShape(config.model);
  const rows = readTaskRows(config.dataset);
  const sets: { path: string; prompts: string[] }[] = [{ path: config.dataset, prompts: rows.map((r) => r.prompt) }];
  if (config.evalDataset) sets.push({ path: config.evalDataset, prompts: readTaskRows(config.evalDataset).slice(0, config.evalItems).map((r) => r.prompt) });
  // Before loading anything: a run that cannot fit in memory is refused at once.
  const approx = checkMemory(shape, estimateSettings(config, approximatePromptTokens(sets[0]!.prompts, shape.vocab)));
  if (!approx.fits && !options.force) throw new MemoryEstimateError(approx);
  const engine = await RolloutEngine.load({ modelPath: config.model, promptFormat: config.promptFormat });
  try {
    let promptTokens = 0;
    for (const s of sets) {
      const fit = measurePromptFit(s.prompts, (t) => engine.promptTokens(t), engine.trainContextSize, config.maxTokens);
      if (fit.tooLong > 0) throw new PromptsTooLongError(s.path, fit);
      if (s === sets[0]) promptTokens = fit.longest;
    }
    const memory = checkMemory(shape, estimateSettings(config, promptTokens));
    if (!memory.fits && !options.force) throw new MemoryEstimateError(memory);
    const baseline = options.baseline === false || rows.length === 0 ? null : await sampleBaseline(engine, rows, config);
    const warnings = [...(memory.fits ? [] : [`Started despite the memory estimate: ${memory.message}`]), ...(baseline?.warning ? [baseline.warning] : [])];
    return { memory, shape, promptTokens, baseline, warnings, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await engine.dispose();
  }
}

/** The protocol's form of a report (runs.start, runs.preflight). */
export function preflightResult(r: Pick<PreflightReport, "memory" | "shape" | "baseline" | "warnings" | "seconds">): PreflightResult {
  const { estimate, availableMB, totalMB, fits, suggestions, message } = r.memory;
  return { estimate: { memory: estimate.memory, time: estimate.time, availableMB, totalMB, fits, suggestions, message, parameters: r.shape.parameters }, baseline: r.baseline, warnings: r.warnings, seconds: r.seconds };
}

/** The estimate alone, from the model's header and the dataset's prompts (no model load): what New run shows as settings change. */
export function estimatePreflight(config: RftConfig): PreflightResult {
  const t0 = performance.now();
  const shape = readModelShape(config.model);
  const memory = checkMemory(shape, estimateSettings(config, approximatePromptTokens(readTaskRows(config.dataset).map((r) => r.prompt), shape.vocab)));
  return preflightResult({ memory, shape, baseline: null, warnings: memory.message ? [memory.message] : [], seconds: (performance.now() - t0) / 1000 });
}
