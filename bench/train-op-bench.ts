// Training-engine cost: forward + backward + AdamW update of a 2-layer, 128-wide transformer on a
// batch of 8 × 128 tokens, against the forward pass alone in the same run; AdamW in JS and in the
// graph; ORT intra-op threads 1 and 2.
import { parseArgs } from "node:util";
import { causalMask, i64, ropeTables } from "../src-main/train/host-tensor.js";
import { toyTrainSpec } from "../src-main/train/toy-transformer.js";
import { Trainer, type OptimizerPlacement } from "../src-main/train/trainer.js";
import { Rng } from "../src-main/util/rng.js";
import { median } from "../src-main/util/stats.js";
import { writeResult } from "./write-result.js";


async function timeIt(fn: () => Promise<unknown>, repeats: number): Promise<number> {
  await fn();
  await fn(); // warm-up: first runs allocate arenas
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Run the train-op benchmark; returns the result file. */
export async function trainOpBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, options: { repeats: { type: "string", default: "25" } } });
  const repeats = Number(values.repeats);
  const config = { vocab: 256, dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 352, seed: 1 };
  const spec = toyTrainSpec(config);
  const parameters = spec.params.reduce((n, p) => n + p.init.length, 0);
  const [b, t] = [8, 128];
  const rng = new Rng(5);
  const tokens = Array.from({ length: b * (t + 1) }, () => rng.int(config.vocab));
  const { cos, sin } = ropeTables(t, config.dim / config.heads, 10000);
  const batch = {
    tokens: i64([b, t], tokens.filter((_, i) => i % (t + 1) !== t)),
    targets: i64([b, t], tokens.filter((_, i) => i % (t + 1) !== 0)),
    cos,
    sin,
    mask: causalMask(t),
  };
  const runs: Record<string, unknown>[] = [];
  for (const threads of [1, 2]) {
    for (const optimizer of ["js", "graph"] as OptimizerPlacement[]) {
      const t0 = performance.now();
      const trainer = await Trainer.create(spec, { optimizer, threads, hyper: { lr: 1e-3 } });
      const createMs = performance.now() - t0;
      const forwardMs = await timeIt(() => trainer.evaluate(batch), repeats);
      const stepMs = await timeIt(() => trainer.trainStep(batch), repeats);
      await trainer.dispose();
      const run = { threads, optimizer, sessionCreateMs: Math.round(createMs), forwardMs: round(forwardMs), stepMs: round(stepMs), stepOverForward: round(stepMs / forwardMs), tokensPerSecond: Math.round((b * t) / (stepMs / 1000)) };
      console.log(JSON.stringify(run));
      runs.push(run);
    }
  }
  return writeResult("train-op", { model: { ...config, parameters }, batch: { sequences: b, tokens: t }, repeats, runs });
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
