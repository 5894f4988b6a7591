// Convergence of the curricula on the built-in model: every curriculum × seed with the same step
// budget; the held-out pass rate every N steps with the wall time (evaluation excluded), rollouts
// and generated tokens (judgment tokens counted) spent to reach it; then, per curriculum, steps /
// time / rollouts / tokens to a target level (90 % of the best final level unless given), the
// final level as mean ± sd over seeds, METIS against uniform, and the curves with seed bands as
// SVG + PNG beside the JSON.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PRESETS, withPreset, type PresetName } from "../src-main/rft/rft-config.js";
import { RftRun, type StepMetrics } from "../src-main/rft/rft-run.js";
import { mean, spearman } from "../src-main/util/stats.js";
import { PALETTE, renderSvgToPng, writePlot } from "./plot.js";
import { writeResult } from "./write-result.js";

/** One held-out measurement and what it took to get there. */
interface CurvePoint {
  step: number;
  passRate: number;
  /** Training wall time so far, held-out evaluation excluded. */
  seconds: number;
  rollouts: number;
  /** Completion tokens generated, METIS judgment tokens (prompt and completion) included. */
  tokens: number;
  /** Held-out pass rate per task family. */
  byFamily: Record<string, number>;
}

const sd = (xs: number[]): number => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** --config: config fields set on every run (a JSON object); validated when each run resolves its config. */
export function parseOverrides(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`--config must be a JSON object, found ${json}`);
  return parsed as Record<string, unknown>;
}

/** The batch's shape, as --config may set it (defaults 8 prompts × 8, 96 tokens): what ran, for counts and results. */
export function batchShape(overrides: Record<string, unknown>): { batchSize: number; groupSize: number; maxTokens: number } {
  return { batchSize: Number(overrides.batchSize ?? 8), groupSize: Number(overrides.groupSize ?? 8), maxTokens: Number(overrides.maxTokens ?? 96) };
}

/** Held-out levels of one curriculum over seeds: by family at its first and last evaluation, and its final pass rate. */
function heldOutLevels(bySeed: Record<number, CurvePoint[]>, seeds: readonly number[]): { byFamilyFirst: Record<string, number>; byFamilyFinal: Record<string, number>; finalPassRate: { mean: number; sd: number } } {
  const families = (pick: (c: CurvePoint[]) => CurvePoint): Record<string, number> =>
    Object.fromEntries(Object.keys(pick(bySeed[seeds[0]!]!).byFamily).map((f) => [f, r3(mean(seeds.map((s) => pick(bySeed[s]!).byFamily[f] ?? Number.NaN)))]));
  const finals = seeds.map((s) => bySeed[s]!.at(-1)!.passRate);
  return { byFamilyFirst: families((c) => c[0]!), byFamilyFinal: families((c) => c.at(-1)!), finalPassRate: { mean: r3(mean(finals)), sd: r3(sd(finals)) } };
}

/** Throws, naming the file, unless every result was run with the first one's `keys`. */
function assertRunAlike(results: readonly Record<string, unknown>[], names: readonly string[], keys: readonly string[]): void {
  results.forEach((r, i) => {
    for (const key of keys) {
      if (JSON.stringify(r[key]) !== JSON.stringify(results[0]![key])) throw new Error(`${names[i]}: ${key} is ${JSON.stringify(r[key])}, ${names[0]} has ${JSON.stringify(results[0]![key])}; only runs alike merge`);
    }
  });
}

/** What a run's curves depend on besides its seeds and curricula. */
const RUN_SETTINGS = ["steps", "evalEvery", "evalItems", "evalSamples", "model", "group", "maxTokens"];

/** The first point at or above `target`, or null. */
function reach(curve: CurvePoint[], target: number): CurvePoint | null {
  return curve.find((p) => p.passRate >= target) ?? null;
}

/** What the seeds that reach `target` spent to get there (mean ± sd of steps, seconds, rollouts, tokens). */
export function toTarget(bySeed: Record<number, CurvePoint[]>, seeds: readonly number[], target: number): { seedsReachingTarget: number; toTarget: Record<string, { mean: number; sd: number } | null> } {
  const reached = seeds.map((s) => reach(bySeed[s]!, target)).filter((h): h is CurvePoint => h !== null);
  const stat = (f: (p: CurvePoint) => number) => (reached.length ? { mean: r3(mean(reached.map(f))), sd: r3(sd(reached.map(f))) } : null);
  return { seedsReachingTarget: reached.length, toTarget: { steps: stat((p) => p.step), seconds: stat((p) => p.seconds), rollouts: stat((p) => p.rollouts), tokens: stat((p) => p.tokens) } };
}

/** A --schedulers entry: a scheduler, optionally with a preset ("metis:paper" is METIS as the paper sets it). */
export function parseSchedulerEntry(entry: string): { scheduler: string; preset: PresetName } {
  const [scheduler = "", preset = "workbench"] = entry.split(":");
  if (!(preset in PRESETS)) throw new Error(`unknown preset "${preset}" in --schedulers (known: ${Object.keys(PRESETS).join(", ")})`);
  return { scheduler, preset: preset as PresetName };
}

/** The mean over seeds of each evaluation point (seeds share evaluation steps). */
function meanCurve(bySeed: Record<number, CurvePoint[]>, seeds: readonly number[]): { step: number; passRate: number; seconds: number; rollouts: number }[] {
  const first = bySeed[seeds[0]!]!;
  return first.map((p, i) => {
    const at = seeds.map((s) => bySeed[s]![i]!);
    return { step: p.step, passRate: mean(at.map((q) => q.passRate)), seconds: mean(at.map((q) => q.seconds)), rollouts: mean(at.map((q) => q.rollouts)) };
  });
}

/** From the `width`-th evaluation on, each point's pass rate replaced by the mean of the last `width` evaluations up to it. */
export function trailingMean<P extends { passRate: number }>(curve: readonly P[], width: number): P[] {
  // Shorter windows at the start would let one early lucky evaluation count more than later ones.
  return curve.slice(width - 1).map((p, i) => ({ ...p, passRate: mean(curve.slice(i, i + width).map((q) => q.passRate)) }));
}

/** Where `entry`'s curve first reaches uniform's best level, and its cost against uniform's at that best. */
function reachUniformBest(uniform: ReturnType<typeof meanCurve>, other: ReturnType<typeof meanCurve>): Record<string, number | null> {
  // A run with fewer evaluations than the smoothing window has no smoothed curve: nothing to compare.
  if (uniform.length === 0) return { uniformBestLevel: null, uniformBestStep: null, reachedAtStep: null, stepRatio: null, timeRatio: null, rolloutRatio: null };
  const best = uniform.reduce((b, p) => (p.passRate > b.passRate ? p : b));
  const hit = other.find((p) => p.passRate >= best.passRate - 1e-9) ?? null;
  const ratio = (f: (p: { step: number; seconds: number; rollouts: number }) => number): number | null => (hit === null ? null : r3(f(hit) / f(best)));
  return {
    uniformBestLevel: r3(best.passRate), uniformBestStep: best.step, reachedAtStep: hit?.step ?? null,
    stepRatio: ratio((p) => p.step), timeRatio: ratio((p) => p.seconds), rolloutRatio: ratio((p) => p.rollouts),
  };
}

/** Evaluations averaged in the smoothed comparison: a level must hold over 3 evaluations, not one lucky draw. */
export const SMOOTHING_EVALS = 3;

/**
 * The goal: METIS reaching uniform's best level in ≤ 0.6× uniform's time and rollouts.
 * Levels are read on the mean curve over seeds (uniform's best = the highest mean at any
 * evaluation; "reached" = the first evaluation whose mean is at least that): a single seed's
 * best point is mostly evaluation noise, and the other seeds of uniform itself rarely reach it.
 * `smoothed` reads the same on trailing means of SMOOTHING_EVALS evaluations, because one lucky
 * evaluation of uniform's mean curve otherwise sets a bar no curriculum's mean holds.
 */
export function compareToUniform(entries: readonly string[], seeds: readonly number[], curves: Record<string, Record<number, CurvePoint[]>>, stepSeconds: Record<string, number[]>, baseline = "uniform"): Record<string, unknown>[] {
  const uniform = meanCurve(curves[baseline]!, seeds);
  return entries.filter((e) => e !== baseline).map((entry) => {
    const other = meanCurve(curves[entry]!, seeds);
    return {
      scheduler: entry,
      ...(baseline !== "uniform" ? { baseline } : {}),
      ...reachUniformBest(uniform, other),
      stepTimeRatio: r3(mean(stepSeconds[entry]!) / mean(stepSeconds[baseline]!)),
      smoothed: { evaluations: SMOOTHING_EVALS, ...reachUniformBest(trailingMean(uniform, SMOOTHING_EVALS), trailingMean(other, SMOOTHING_EVALS)) },
    };
  });
}

/** Run the curricula benchmark; returns the result file. */
export async function curriculaBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: "string", default: "150" },
      schedulers: { type: "string", default: "uniform,dapo,greso,mopps,pcl,metis,metis:paper" },
      seeds: { type: "string", default: "1,2,3" },
      "eval-every": { type: "string", default: "25" },
      "eval-items": { type: "string", default: "193" },
      "eval-samples": { type: "string", default: "4" },
      target: { type: "string" },
      model: { type: "string", default: "resources/models/metis-tiny.gguf" },
      /** The training pool (held-out stays the built-in test split), e.g. one `npm run bench -- pool` wrote. */
      dataset: { type: "string", default: "resources/datasets/synthetic-train.jsonl" },
      /** Config fields (a JSON object) set on every run, e.g. '{"metisJudgmentSamples":2}': a variant to compare. */
      config: { type: "string" },
      /** Appended to each entry's name ("metis@LABEL") so a variant's result merges beside the defaults' (--recompute). */
      label: { type: "string" },
      /** Recompute the comparison against uniform of earlier result files, comma-separated and merged (no runs). */
      recompute: { type: "string" },
      /** With --recompute: the entry the others are compared against (e.g. "uniform@b4" for variants run at batch 4). */
      baseline: { type: "string", default: "uniform" },
      /** With --recompute: the files are the same curricula over disjoint seeds, merged into one result over all of them. */
      "merge-seeds": { type: "boolean", default: false },
    },
  });
  if (values.recompute) return recompute(values.recompute, values.baseline, values.target ? Number(values.target) : undefined, values["merge-seeds"]);
  const steps = Number(values.steps);
  const seeds = values.seeds.split(",").map(Number);
  const evalEvery = Number(values["eval-every"]);
  const dir = mkdtempSync(join(tmpdir(), "metis-curricula-"));
  const schedulerEntries = values.schedulers.split(",");
  const named = (entry: string): string => (values.label ? `${entry}@${values.label}` : entry);
  const entries = schedulerEntries.map(named);
  const overrides = parseOverrides(values.config);
  // Rollout counts, the signal cap and the result read the batch's shape.
  const shape = batchShape(overrides);
  const curves: Record<string, Record<number, CurvePoint[]>> = {};
  /** Each step's training time (evaluation excluded), where it went and what it trained: the decomposition behind the step-time ratio. */
  const perStep: Record<string, { trainS: number; judgeS: number; rolloutS: number; updateS: number; rolloutTokens: number; signalGroups: number }[]> = {};
  /** METIS: (predicted, observed) variance pairs of the second half of each run, for calibration. */
  const judged: Record<string, { predicted: number; observed: number }[]> = {};
  try {
    // An entry is a scheduler, optionally with a preset: "metis:paper" is METIS as the paper sets it.
    for (const schedulerEntry of schedulerEntries) {
      const { scheduler, preset } = parseSchedulerEntry(schedulerEntry);
      const entry = named(schedulerEntry);
      curves[entry] = {};
      perStep[entry] = [];
      judged[entry] = [];
      for (const seed of seeds) {
        const curve: CurvePoint[] = [];
        let seconds = 0, rollouts = 0, tokens = 0;
        const run = await RftRun.create(dir, withPreset(preset, {
          model: values.model, dataset: values.dataset, evalDataset: "resources/datasets/synthetic-test.jsonl",
          scheduler: scheduler as never, steps, ...shape, evalEvery, evalItems: Number(values["eval-items"]), evalSamples: Number(values["eval-samples"]), seed, checkpointEvery: 100_000, ...overrides,
        }), (e) => {
          if (e.type !== "step") return;
          const m: StepMetrics = e.metrics;
          const trainMs = m.stepMs - (m.info["time/evalMs"] ?? 0);
          seconds += trainMs / 1000;
          perStep[entry]!.push({
            trainS: trainMs / 1000, judgeS: (m.info["time/judgeMs"] ?? 0) / 1000, rolloutS: (m.info["time/rolloutMs"] ?? 0) / 1000, updateS: (m.info["time/updateMs"] ?? 0) / 1000,
            // Groups whose rewards differ: the only ones that move the policy (DAPO trains at most a batch of them).
            rolloutTokens: m.rolloutTokens, signalGroups: Math.min(shape.batchSize, m.cells.filter((c) => c.variance > 0).length),
          });
          if (m.step > steps / 2) for (const c of m.cells) if (c.predicted !== null) judged[entry]!.push({ predicted: c.predicted, observed: c.variance });
          rollouts += m.cells.length * shape.groupSize; // every group rolled out, DAPO's dropped ones included
          tokens += m.rolloutTokens + (m.info["metis/judgmentTokens"] ?? 0);
          if (m.heldOutPassRate !== null) {
            const byFamily = Object.fromEntries(Object.entries(m.info).filter(([k]) => k.startsWith("heldOut/")).map(([k, v]) => [k.slice("heldOut/".length), r3(v)]));
            curve.push({ step: m.step, passRate: m.heldOutPassRate, seconds: r3(seconds), rollouts, tokens, byFamily });
            console.log(`${entry} seed ${seed} step ${m.step} held-out ${(m.heldOutPassRate * 100).toFixed(1)}% after ${seconds.toFixed(0)} s`);
          }
        });
        await run.run();
        await run.dispose();
        curves[entry]![seed] = curve;
      }
    }

    const finalOf = (entry: string): number[] => seeds.map((s) => curves[entry]![s]!.at(-1)!.passRate);
    const bestFinal = Math.max(...entries.map((e) => mean(finalOf(e))));
    const target = values.target ? Number(values.target) : 0.9 * bestFinal;
    const stepSeconds = Object.fromEntries(entries.map((e) => [e, perStep[e]!.map((p) => p.trainS)]));
    const summary = entries.map((entry) => ({
      scheduler: entry,
      ...heldOutLevels(curves[entry]!, seeds),
      ...toTarget(curves[entry]!, seeds, target),
      secondsPerStep: r3(mean(stepSeconds[entry]!)),
      perStep: Object.fromEntries((["judgeS", "rolloutS", "updateS", "rolloutTokens", "signalGroups"] as const).map((k) => [k, r3(mean(perStep[entry]!.map((p) => p[k])))])),
      // Training seconds per group with signal: what a curriculum pays for each group that teaches.
      secondsPerSignalGroup: r3(mean(stepSeconds[entry]!) / Math.max(1e-9, mean(perStep[entry]!.map((p) => p.signalGroups)))),
      // Rank correlation of predicted and observed variance over the second half's judged prompts (all seeds).
      judgeSpearmanSecondHalf: judged[entry]!.length >= 3 ? (spearman(judged[entry]!.map((p) => p.predicted), judged[entry]!.map((p) => p.observed)) ?? null) : null,
    }));
    // With --label, uniform runs as "uniform@LABEL": the comparison is against it.
    const baseline = entries.find((e) => e === "uniform" || e.startsWith("uniform@"));
    const metisVsUniform = baseline ? compareToUniform(entries, seeds, curves, stepSeconds, baseline) : [];
    for (const row of summary) console.log(JSON.stringify(row));
    for (const row of metisVsUniform) console.log(JSON.stringify(row));

    const path = writeResult("curricula", { ...(values.config ? { config: overrides } : {}), model: values.model, dataset: values.dataset, batch: shape.batchSize, group: shape.groupSize, maxTokens: shape.maxTokens, steps, seeds, evalEvery, evalItems: Number(values["eval-items"]), evalSamples: Number(values["eval-samples"]), target: r3(target), summary, metisVsUniform, curves });
    await plotCurves(path, entries, seeds, curves);
    return path;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The held-out curves with seed bands as SVG + PNG beside the result file. */
async function plotCurves(path: string, entries: readonly string[], seeds: readonly number[], curves: Record<string, Record<number, CurvePoint[]>>): Promise<void> {
  const xs = curves[entries[0]!]![seeds[0]!]!.map((p) => p.step);
  const plots = writePlot(path.replace(/\.json$/, ""), {
    title: `Held-out pass rate, built-in model (${seeds.length} seeds: mean and min–max)`,
    xLabel: "step",
    yLabel: "held-out pass rate",
    series: entries.map((entry, k) => {
      const at = (i: number): number[] => seeds.map((s) => curves[entry]![s]![i]?.passRate ?? Number.NaN).filter((v) => !Number.isNaN(v));
      return { label: entry, color: PALETTE[k % PALETTE.length]!, dashed: k >= PALETTE.length, x: xs, mean: xs.map((_, i) => mean(at(i))), low: xs.map((_, i) => Math.min(...at(i))), high: xs.map((_, i) => Math.max(...at(i))) };
    }),
  });
  if (!(await renderSvgToPng(plots[0]!, plots[1]!))) console.log("no Chromium: the PNG has no labels (they are in the SVG)");
  console.log(`plots: ${plots.join(", ")}`);
}

/** A curricula result file as recompute reads it. */
type Result = { seeds: number[]; curves: Record<string, Record<number, CurvePoint[]>>; summary: ({ scheduler: string; secondsPerStep: number } & Record<string, unknown>)[] } & Record<string, unknown>;

/**
 * Results of the same curricula run alike over disjoint seeds, as one result over all of them:
 * curves are joined; final levels and by-family means are recomputed from them; step times and
 * their breakdown are seed-weighted means; a Spearman over pooled pairs cannot be pooled again
 * from its values, so each run's is kept (judgeSpearmanSecondHalfByRun).
 */
export function mergeSeedRuns(results: readonly Result[], names: readonly string[] = results.map((_, i) => `result ${i + 1}`)): Result {
  const [first] = results;
  if (!first) throw new Error("no results to merge");
  const entries = first.summary.map((r) => r.scheduler);
  assertRunAlike(results, names, [...RUN_SETTINGS, "batch"]);
  const seen = new Set<number>();
  results.forEach((r, i) => {
    const own = r.summary.map((x) => x.scheduler);
    if (JSON.stringify([...own].sort()) !== JSON.stringify([...entries].sort())) throw new Error(`${names[i]}: curricula ${own.join(", ")}, ${names[0]} has ${entries.join(", ")}`);
    for (const seed of r.seeds) {
      if (seen.has(seed)) throw new Error(`${names[i]}: seed ${seed} is in an earlier file too; merged runs need disjoint seeds`);
      seen.add(seed);
    }
  });
  const seeds = results.flatMap((r) => r.seeds);
  const curves = Object.fromEntries(entries.map((e) => [e, Object.assign({}, ...results.map((r) => r.curves[e]))])) as Result["curves"];
  /** A result's summary row of curriculum `e` (every result has one: checked above). */
  const rowOf = (r: Result, e: string): Result["summary"][number] => r.summary.find((x) => x.scheduler === e)!;
  const weighted = (e: string, pick: (row: Record<string, unknown>) => number): number =>
    r3(results.reduce((n, r) => n + r.seeds.length * pick(rowOf(r, e)), 0) / seeds.length);
  const summary = entries.map((e) => {
    const perStepKeys = Object.keys((rowOf(first, e).perStep ?? {}) as Record<string, number>);
    const secondsPerStep = weighted(e, (row) => row.secondsPerStep as number);
    const perStep = Object.fromEntries(perStepKeys.map((k) => [k, weighted(e, (row) => (row.perStep as Record<string, number>)[k]!)]));
    return {
      scheduler: e,
      ...heldOutLevels(curves[e]!, seeds),
      secondsPerStep,
      perStep,
      ...(perStep.signalGroups !== undefined ? { secondsPerSignalGroup: r3(secondsPerStep / Math.max(1e-9, perStep.signalGroups)) } : {}),
      judgeSpearmanSecondHalfByRun: results.map((r) => (rowOf(r, e).judgeSpearmanSecondHalf as number | null | undefined) ?? null),
    };
  });
  const { summary: _s, curves: _c, seeds: _seeds, metisVsUniform: _m, ...rest } = first;
  return { ...rest, seeds, curves, summary };
}

/**
 * A new result from earlier ones' curves, with the comparison computed as this version does.
 * Several files (comma-separated) are merged when they were run alike (steps, seeds, evaluation,
 * group and length), so curricula run at different times compare against one baseline; each
 * entry's steps to the target are recomputed at one target, and its batch is kept beside it.
 */
async function recompute(files: string, baseline: string, targetOverride: number | undefined, mergeSeeds = false): Promise<string> {
  const paths = files.split(",");
  const read = paths.map((f) => JSON.parse(readFileSync(f, "utf8")) as Result);
  const results = mergeSeeds ? [mergeSeedRuns(read, paths)] : read;
  const [first] = results as [Result, ...Result[]];
  // The target may differ (each run set its own): every entry's toTarget is recomputed at the first's, or --target.
  // Variants run at another batch merge (each keeps its own); merged seeds were checked by mergeSeedRuns.
  if (!mergeSeeds) assertRunAlike(results, paths, [...RUN_SETTINGS, "seeds"]);
  const curves = Object.assign({}, ...results.map((r) => r.curves)) as Result["curves"];
  const target = targetOverride ?? (first.target as number);
  // Results written before the batch was read from --config recorded 8 beside a {"batchSize":4} config.
  const batchOf = (r: Result): unknown => (r.config as { batchSize?: number } | undefined)?.batchSize ?? r.batch;
  const summary = results.flatMap((r) => r.summary.map((row) => ({ ...row, batch: batchOf(r), ...toTarget(curves[row.scheduler]!, first.seeds, target) })));
  const entries = Object.keys(curves);
  const stepSeconds = Object.fromEntries(summary.map((r) => [r.scheduler, [r.secondsPerStep]]));
  if (!entries.includes(baseline)) throw new Error(`--baseline ${baseline}: none of ${paths.join(", ")} has it (entries: ${entries.join(", ")})`);
  const metisVsUniform = compareToUniform(entries, first.seeds, curves, stepSeconds, baseline);
  for (const row of metisVsUniform) console.log(JSON.stringify(row));
  const { benchmark: _b, date: _d, machine: _m, ...rest } = first;
  const path = writeResult("curricula", { ...rest, target: r3(target), recomputedFrom: paths, summary, metisVsUniform, curves });
  // Merged results get one plot of every curriculum.
  if (paths.length > 1) await plotCurves(path, entries, first.seeds, curves);
  return path;
}
