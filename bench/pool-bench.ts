// A signal-poor training pool from the built-in suite: the regime METIS's paper targets, where
// most prompts of a pool give groups with no learning signal (all pass or all fail). Every
// training row is sampled `group` times with the base model; the pool keeps every row whose
// group had no signal and as many rows with signal as make `--signal-share` of the pool. Writes
// the pool (original rows, unchanged, as JSONL) and a result file with its make-up.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { readTaskRows } from "../src-main/datasets/default-datasets.js";
import type { TaskRow } from "../src-main/datasets/task-row.js";
import { RolloutEngine } from "../src-main/rollout/rollout-engine.js";
import { Rng } from "../src-main/util/rng.js";
import { variance } from "../src-main/util/stats.js";
import { sampleRewards } from "./sample-rewards.js";
import { writeResult } from "./write-result.js";

/** Rows with and without signal in one base-model group each. */
export function splitBySignal(rows: readonly TaskRow[], variances: readonly number[]): { signal: TaskRow[]; none: TaskRow[] } {
  return { signal: rows.filter((_, i) => variances[i]! > 0), none: rows.filter((_, i) => !(variances[i]! > 0)) };
}

/** Every no-signal row plus enough signal rows (drawn at random) that they are `share` of the pool. */
export function signalPoorPool(signal: readonly TaskRow[], none: readonly TaskRow[], share: number, rng: Rng): TaskRow[] {
  const wanted = Math.min(signal.length, Math.round((share * none.length) / (1 - share)));
  return rng.shuffle([...none, ...rng.shuffle([...signal]).slice(0, wanted)]);
}

/** Build the pool; returns the result file. */
export async function poolBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: "string", default: "bench/results/signal-poor-pool.jsonl" },
      "signal-share": { type: "string", default: "0.25" },
      group: { type: "string", default: "8" },
      model: { type: "string", default: "resources/models/metis-tiny.gguf" },
      dataset: { type: "string", default: "resources/datasets/synthetic-train.jsonl" },
      seed: { type: "string", default: "1" },
    },
  });
  const share = Number(values["signal-share"]), group = Number(values.group);
  if (!(share > 0 && share < 1)) throw new Error(`--signal-share must lie strictly between 0 and 1, found ${values["signal-share"]}`);
  const rng = new Rng(Number(values.seed));
  const rows = readTaskRows(values.dataset);
  const engine = await RolloutEngine.load({ modelPath: values.model, promptFormat: "raw", adapter: null });
  let variances: number[];
  try {
    variances = (await sampleRewards(engine, rows, group, rng)).map(variance);
  } finally {
    await engine.dispose();
  }
  const { signal, none } = splitBySignal(rows, variances);
  const pool = signalPoorPool(signal, none, share, rng);
  writeFileSync(values.out, pool.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const count = (rs: readonly TaskRow[]): Record<string, number> => rs.reduce<Record<string, number>>((m, r) => ({ ...m, [r.family ?? "(none)"]: (m[r.family ?? "(none)"] ?? 0) + 1 }), {});
  console.log(`${rows.length} rows: ${signal.length} with signal in one group of ${group}, ${none.length} without; pool ${pool.length} rows at ${share} signal -> ${values.out}`);
  return writeResult("pool", {
    model: values.model, dataset: values.dataset, group, seed: Number(values.seed), signalShare: share, out: values.out,
    rows: rows.length, withSignal: signal.length, withoutSignal: none.length, pool: pool.length, poolByFamily: count(pool), withoutSignalByFamily: count(none),
  });
}
