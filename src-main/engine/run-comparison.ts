// "Did it help?": the base model against a run's adapter on the run's evaluation set, by family
// and difficulty (eval/compare.ts), stored as compare.json in the run directory so reopening the
// run shows it without measuring again. Also "try it": one prompt, base and adapter side by side.
// Both load the model once and switch the adapter off between the two passes, with one seed.
// They run in a job thread (job-worker.ts): the engine's loop never waits on them.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { readTaskRows } from "../datasets/default-datasets.js";
import { compareReports } from "../eval/compare.js";
import { evaluateRows } from "../eval/evaluate.js";
import { RunComparisonSchema, type CompareProgress, type RunComparison, type TryResult } from "../protocol/insight.js";
import { resolveRftConfig, type RftConfig } from "../rft/rft-config.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { writeLatestAdapter } from "./export-run.js";
import { readJsonOrNull } from "../util/read-json.js";

export const COMPARE_FILE = "compare.json";
/** Items measured at most: the evaluation set's first rows (paired standard errors shrink as 1/√items). */
export const COMPARE_MAX_ITEMS = 256;

/** A run without an evaluation set has nothing to compare on. */
export class NoEvalSetError extends Error {
  override name = "NoEvalSetError";
  constructor(readonly runDir: string) {
    super(`${basename(runDir)}: the run has no evaluation set to compare the base model and the adapter on (choose one at New run)`);
  }
}

function runConfig(runDir: string): RftConfig {
  return resolveRftConfig((JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")) as { config: RftConfig }).config);
}

/** Run `job` with an engine holding the run's newest adapter (written to a temporary file in the run, removed after). */
async function withRunAdapter<T>(runDir: string, job: (engine: RolloutEngine, config: RftConfig, step: number) => Promise<T>): Promise<T> {
  const config = runConfig(runDir);
  const adapter = join(runDir, `insight-adapter-${process.pid}-${Math.random().toString(36).slice(2)}.gguf`);
  try {
    const { step } = await writeLatestAdapter(runDir, adapter);
    const engine = await RolloutEngine.load({ modelPath: config.model, adapter: { path: adapter }, promptFormat: config.promptFormat });
    try {
      return await job(engine, config, step);
    } finally {
      await engine.dispose();
    }
  } finally {
    rmSync(adapter, { force: true });
  }
}

/** Measure the base model and the run's newest adapter on its evaluation set (same rows and seed), store compare.json, return it. */
export async function compareRun(runDir: string, onProgress: (p: CompareProgress) => void = () => undefined): Promise<RunComparison> {
  const t0 = performance.now();
  const config = runConfig(runDir);
  if (!config.evalDataset) throw new NoEvalSetError(runDir);
  const all = readTaskRows(config.evalDataset);
  const rows = all.slice(0, COMPARE_MAX_ITEMS);
  const samples = config.evalSamples;
  const sampling = { temperature: config.temperature, maxTokens: config.maxTokens, seed: config.seed };
  const result = await withRunAdapter(runDir, async (engine, _config, step) => {
    const adapter = await evaluateRows(engine, rows, samples, sampling, (done) => onProgress({ phase: "adapter", done, total: 2 * rows.length }));
    await engine.setAdapter(null);
    const base = await evaluateRows(engine, rows, samples, sampling, (done) => onProgress({ phase: "base", done: rows.length + done, total: 2 * rows.length }));
    return { step, base, adapter };
  });
  const comparison: RunComparison = {
    step: result.step,
    at: new Date().toISOString(),
    dataset: basename(config.evalDataset),
    items: rows.length,
    rows: all.length,
    samples,
    sampling,
    table: compareReports(result.base, result.adapter),
    base: result.base.overall,
    adapter: result.adapter.overall,
    ms: Math.round(performance.now() - t0),
  };
  const path = join(runDir, COMPARE_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(RunComparisonSchema.parse(comparison), null, 1) + "\n");
  renameSync(`${path}.tmp`, path);
  return comparison;
}

/** The run's stored comparison, or null when it has none (or it cannot be read). */
export function readRunComparison(runDir: string): RunComparison | null {
  return readJsonOrNull(join(runDir, COMPARE_FILE), RunComparisonSchema);
}

/** One completion of `prompt` from `engine` as it is, then with its adapter off: same seed and settings. */
export async function tryBoth(engine: RolloutEngine, prompt: string, sampling: TryResult["sampling"]): Promise<Pick<TryResult, "base" | "adapter">> {
  const one = async (): Promise<TryResult["base"]> => {
    const c = (await engine.generate([prompt], 1, sampling)).completions[0]![0]!;
    return { text: c.text, tokens: c.tokens.length, finishReason: c.finishReason };
  };
  const adapter = await one();
  await engine.setAdapter(null);
  return { base: await one(), adapter };
}

/** "Try it": `prompt` through the base model and the run's newest adapter, at the run's temperature and length, with `seed` (the run's by default). */
export function tryRun(runDir: string, prompt: string, seed?: number): Promise<TryResult> {
  return withRunAdapter(runDir, async (engine, config, step) => {
    const sampling = { temperature: config.temperature, maxTokens: config.maxTokens, seed: seed ?? config.seed };
    return { step, sampling, ...(await tryBoth(engine, prompt, sampling)) };
  });
}
