// How well can a curriculum know which prompts carry a learning signal, on this model? Each item
// is sampled 2 × 8 times: the first 8 give what the examples show and what a perfect-memory
// predictor knows (its variance, observed once), the second 8 are what a GRPO group would see.
// Predictors of the second 8's variance, scored by Spearman and by how many groups with signal
// (variance > 0) they put in the batch when choosing the top share of a pool:
//  - "observed once": the item's own first-8 variance (a ceiling: knowledge up to sampling noise);
//  - "cell mean" / "family mean": the mean first-8 variance of the other items of its (family,
//    difficulty) cell or family (what the built-in model's judgment pretraining targets);
//  - "judge K×J": the policy's own judgment (curriculum/judgment-format.ts) with K random other
//    items as examples and J samples averaged — what METIS does.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeLatestAdapter } from "../src-main/engine/export-run.js";
import { RftRun } from "../src-main/rft/rft-run.js";
import { readTaskRows } from "../src-main/datasets/default-datasets.js";
import { cellKey, type TaskRow } from "../src-main/datasets/task-row.js";
import { judgmentPrompt, parseJudgment } from "../src-main/curriculum/judgment-format.js";
import { VARIANCE_SCALE } from "../src-main/curriculum/metis.js";
import { RolloutEngine } from "../src-main/rollout/rollout-engine.js";
import { Rng } from "../src-main/util/rng.js";
import { mean, spearman, variance } from "../src-main/util/stats.js";
import { parseOverrides } from "./curricula-bench.js";
import { sampleRewards } from "./sample-rewards.js";
import { writeResult } from "./write-result.js";

const GROUP = 8;
const r3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);

/** One item's two independent groups. */
interface Observed {
  row: TaskRow;
  first: number;
  second: number;
}

/** How a predictor ranks items against the second group's variance. */
function score(predicted: readonly (number | null)[], items: readonly Observed[], rng: Rng, poolFactor: number): { spearman: number | null; signalShareChosen: number; parsed: number } {
  const known = items.map((it, i) => ({ p: predicted[i] ?? null, v: it.second })).filter((x): x is { p: number; v: number } => x.p !== null);
  // Simulated selection: pools of poolFactor × 8 items, the 8 with the highest prediction kept;
  // unknown predictions rank last. Ties are broken at random (a constant predictor = uniform).
  const chosen: number[] = [];
  for (let trial = 0; trial < 400; trial++) {
    const pool = rng.shuffle(items.map((_, i) => i)).slice(0, poolFactor * GROUP);
    const keyed = pool.map((i) => ({ i, key: predicted[i] ?? -1, tie: rng.uniform() }));
    keyed.sort((a, b) => b.key - a.key || a.tie - b.tie);
    for (const k of keyed.slice(0, GROUP)) chosen.push(items[k.i]!.second > 0 ? 1 : 0);
  }
  return { spearman: r3(spearman(known.map((x) => x.p), known.map((x) => x.v))), signalShareChosen: r3(mean(chosen))!, parsed: known.length };
}

/** Mean of `value` over the other items sharing `key`; null when there are none. */
function leaveOneOutMean(items: readonly Observed[], key: (o: Observed) => string): (number | null)[] {
  const sums = new Map<string, { s: number; n: number }>();
  for (const it of items) {
    const e = sums.get(key(it)) ?? { s: 0, n: 0 };
    sums.set(key(it), { s: e.s + it.first, n: e.n + 1 });
  }
  return items.map((it) => {
    const e = sums.get(key(it))!;
    return e.n > 1 ? (e.s - it.first) / (e.n - 1) : null;
  });
}

/** Run the judge-quality benchmark; returns the result file. */
export async function judgeBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      items: { type: "string", default: "240" },
      windows: { type: "string", default: "3,6" },
      judgments: { type: "string", default: "1,4" },
      "pool-factor": { type: "string", default: "3" },
      /** In-context examples: random other items, items of the candidate's (family, difficulty) cell first ("similar"), or those with random variances ("similar-shuffled", a control). */
      examples: { type: "string", default: "random" },
      model: { type: "string", default: "resources/models/metis-tiny.gguf" },
      /** A LoRA adapter (GGUF) applied to the model: the judge after RL. */
      adapter: { type: "string" },
      /** Instead of --adapter: train one first, this many steps of RL with today's defaults (and --train-scheduler, --train-config). */
      "train-steps": { type: "string" },
      "train-scheduler": { type: "string", default: "metis" },
      /** Config fields for that run, a JSON object (e.g. '{"judgmentWeight":2}'). */
      "train-config": { type: "string", default: "{}" },
      dataset: { type: "string", default: "resources/datasets/synthetic-train.jsonl" },
      seed: { type: "string", default: "1" },
    },
  });
  const rng = new Rng(Number(values.seed));
  const rows = rng.shuffle(readTaskRows(values.dataset)).slice(0, Number(values.items));
  const poolFactor = Number(values["pool-factor"]);
  const trained = values["train-steps"] ? await trainAdapter(values.model, values.dataset, values["train-scheduler"], Number(values["train-steps"]), Number(values.seed), values["train-config"]) : null;
  const adapter = trained?.path ?? values.adapter;
  const engine = await RolloutEngine.load({ modelPath: values.model, promptFormat: "raw", adapter: adapter ? { path: adapter } : null });
  const t0 = performance.now();
  try {
    const items: Observed[] = (await sampleRewards(engine, rows, 2 * GROUP, rng)).map((rewards, i) => ({ row: rows[i]!, first: variance(rewards.slice(0, GROUP)), second: variance(rewards.slice(GROUP)) }));
    const sampleSeconds = (performance.now() - t0) / 1000;

    const predictors: Record<string, { predicted: (number | null)[]; seconds?: number; judgmentPromptTokens?: number }> = {
      "observed once": { predicted: items.map((it) => it.first) },
      "cell mean": { predicted: leaveOneOutMean(items, (o) => cellKey(o.row)) },
      "family mean": { predicted: leaveOneOutMean(items, (o) => String(o.row.family)) },
      constant: { predicted: items.map(() => 0.1) },
    };
    const judgmentCounts = values.judgments.split(",").map(Number);
    if (!["random", "similar", "similar-shuffled"].includes(values.examples)) throw new Error(`--examples is random, similar or similar-shuffled, found "${values.examples}"`);
    for (const k of values.windows.split(",").map(Number)) {
      for (const j of judgmentCounts) {
        const t = performance.now();
        const shown: number[] = [];
        const prompts = items.map((it, i) => {
          const pool = rng.shuffle(items.filter((_, o) => o !== i));
          const others = values.examples === "random" ? pool.slice(0, k) : [...pool.filter((o) => cellKey(o.row) === cellKey(it.row)), ...pool.filter((o) => cellKey(o.row) !== cellKey(it.row))].slice(0, k);
          // "similar-shuffled": the same examples with variances of random items — a judge that reads its examples gets worse.
          const examples = others.map((o) => ({ prompt: o.row.prompt, variance: values.examples === "similar-shuffled" ? rng.pick(items).first : o.first }));
          shown.push(mean(examples.map((e) => e.variance)));
          return judgmentPrompt(examples, it.row.prompt);
        });
        // What reading the examples alone gives: their mean (the METIS panel's baseline judge).
        if (j === judgmentCounts[0]) predictors[`examples mean ${k}`] = { predicted: shown };
        const batch = await engine.generate(prompts, j, { temperature: 1, maxTokens: 8, seed: rng.nextU32(), stop: ["\n"], tree: true });
        const predicted = batch.completions.map((cs) => {
          const parsed = cs.map((c) => parseJudgment(c.text)).filter((v): v is number => v !== null).map((v) => Math.min(v, VARIANCE_SCALE));
          return parsed.length > 0 ? mean(parsed) : null;
        });
        const judgmentPromptTokens = batch.completions.reduce((n, cs) => n + cs[0]!.promptTokens.length, 0);
        predictors[`judge ${k}×${j}`] = { predicted, seconds: (performance.now() - t) / 1000, judgmentPromptTokens };
        process.stderr.write(`judged K=${k} J=${j}\n`);
      }
    }
    const baseRate = mean(items.map((it) => (it.second > 0 ? 1 : 0)));
    const results = Object.fromEntries(Object.entries(predictors).map(([name, p]) => [name, {
      ...score(p.predicted, items, rng, poolFactor),
      ...(p.seconds !== undefined ? { seconds: r3(p.seconds), judgmentPromptTokensPerItem: Math.round(p.judgmentPromptTokens! / items.length) } : {}),
    }]));
    for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(16)} spearman ${String(r.spearman).padStart(6)}  signal share of the chosen ${(r.signalShareChosen * 100).toFixed(1)} % (uniform ${(baseRate * 100).toFixed(1)} %)`);
    return writeResult("judge", {
      model: values.model, adapter: values.adapter ?? null, ...(trained ? { trainedAdapter: trained.recipe } : {}), examples: values.examples, dataset: values.dataset, items: items.length, group: GROUP, poolFactor,
      signalShareUniform: r3(baseRate), sampleSeconds: r3(sampleSeconds),
      note: "Spearman of each predictor against an independent group of 8 samples; signal share = share of groups with reward variance > 0 among the top 1/poolFactor of random pools of poolFactor × 8 items",
      predictors: results,
    });
  } finally {
    await engine.dispose();
    if (trained) rmSync(trained.dir, { recursive: true, force: true });
  }
}

/** RL from the model with today's defaults for `steps` steps; the final adapter's path and how it was made. */
async function trainAdapter(model: string, dataset: string, scheduler: string, steps: number, seed: number, configJson: string): Promise<{ path: string; dir: string; recipe: Record<string, unknown> }> {
  const overrides = parseOverrides(configJson);
  const dir = mkdtempSync(join(tmpdir(), "metis-judge-train-"));
  const run = await RftRun.create(join(dir, "runs"), { model, dataset, scheduler: scheduler as never, steps, seed, checkpointEvery: 100_000, ...overrides }, (e) => {
    if (e.type === "step" && e.metrics.step % 10 === 0) process.stderr.write(`trained ${e.metrics.step}/${steps} steps (${scheduler})\n`);
  });
  let completed: number;
  try {
    await run.run();
    completed = run.step;
  } finally {
    await run.dispose();
  }
  if (completed !== steps) throw new Error(`the ${scheduler} run for the judge ended after ${completed} of ${steps} steps (see ${join(dir, "runs", run.id)})`);
  // The adapter of the run's final checkpoint (written when the run ends): the weights after its last step.
  await writeLatestAdapter(join(dir, "runs", run.id), join(dir, "adapter.gguf"));
  return { path: join(dir, "adapter.gguf"), dir, recipe: { scheduler, steps, seed, config: overrides } };
}
