// What a step costs per curriculum, where its time goes, and what it evaluates: short runs of
// each scheduler back to back on the built-in model (run it on a quiet machine: the curricula
// bench's wall times are taken beside whatever else runs). Medians over steps after a warm-up.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { withPreset } from "../src-main/rft/rft-config.js";
import { RftRun, type StepMetrics } from "../src-main/rft/rft-run.js";
import { median } from "../src-main/util/stats.js";
import { batchShape, parseOverrides, parseSchedulerEntry } from "./curricula-bench.js";
import { writeResult } from "./write-result.js";

const WARM_UP = 2;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Run the step-cost benchmark; returns the result file. */
export async function stepCostBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: "string", default: "14" },
      schedulers: { type: "string", default: "uniform,metis,metis:paper" },
      seed: { type: "string", default: "1" },
      model: { type: "string", default: "resources/models/metis-tiny.gguf" },
      config: { type: "string" },
    },
  });
  const overrides = parseOverrides(values.config);
  const steps = Number(values.steps);
  // The result records the shape that ran.
  const shape = batchShape(overrides);
  const dir = mkdtempSync(join(tmpdir(), "metis-step-cost-"));
  const rows: Record<string, Record<string, number>> = {};
  try {
    for (const entry of values.schedulers.split(",")) {
      const { scheduler, preset } = parseSchedulerEntry(entry);
      const seen: StepMetrics[] = [];
      const run = await RftRun.create(dir, withPreset(preset, {
        model: values.model, dataset: "resources/datasets/synthetic-train.jsonl", scheduler: scheduler as never,
        steps, ...shape, seed: Number(values.seed), checkpointEvery: 100_000, ...overrides,
      }), (e) => e.type === "step" && seen.push(e.metrics));
      try {
        await run.run();
      } finally {
        await run.dispose();
      }
      const timed = seen.slice(WARM_UP);
      const med = (f: (m: StepMetrics) => number): number => median(timed.map(f));
      const info = (k: string) => (m: StepMetrics): number => m.info[k] ?? 0;
      rows[entry] = {
        stepMs: r1(med((m) => m.stepMs - (m.info["time/evalMs"] ?? 0))),
        judgeMs: r1(med(info("time/judgeMs"))),
        rolloutMs: r1(med(info("time/rolloutMs"))),
        updateMs: r1(med(info("time/updateMs"))),
        rolloutTokens: Math.round(med((m) => m.rolloutTokens)),
        rolloutTokensEvaluated: Math.round(med(info("rollout/tokensEvaluated"))),
        judgmentTokens: Math.round(med(info("metis/judgmentTokens"))),
        judgmentTokensEvaluated: Math.round(med(info("metis/judgmentTokensEvaluated"))),
        trainTokens: Math.round(med(info("train/trainTokens"))),
        judgmentTrainTokens: Math.round(med(info("train/judgmentTrainTokens"))),
      };
      console.log(entry.padEnd(12), JSON.stringify(rows[entry]));
    }
    const uniform = rows.uniform?.stepMs;
    const ratios = uniform ? Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, Math.round((r.stepMs! / uniform) * 100) / 100])) : null;
    if (ratios) console.log("step time / uniform's:", JSON.stringify(ratios));
    return writeResult("step-cost", {
      ...(values.config ? { config: overrides } : {}),
      model: values.model, batch: shape.batchSize, group: shape.groupSize, maxTokens: shape.maxTokens, steps, warmUp: WARM_UP,
      malloc: process.env.MALLOC_MMAP_THRESHOLD_ ? { MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ } : "glibc default",
      note: "medians over steps after the warm-up; stepMs excludes held-out evaluation; judgmentTokens counts every judgment sample's prompt and completion; *Evaluated are the tokens llama.cpp computed (prompt tokens not reused from a context's cache, plus completions)",
      perScheduler: rows, stepTimeRatioToUniform: ratios,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
