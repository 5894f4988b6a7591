// Curricula side by side on the built-in model and dataset: same seed, same budget of steps;
// held-out pass rate before and after, share of zero-variance groups (rollouts with no
// gradient), DAPO's wasted rollouts, METIS's judgment error and cost, wall time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PRESETS, withPreset, type PresetName } from "../src-main/rft/rft-config.js";
import { RftRun, type StepMetrics } from "../src-main/rft/rft-run.js";
import { writeResult } from "./write-result.js";

/** Run the curricula benchmark; returns the result file. */
export async function curriculaBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, options: { steps: { type: "string", default: "30" }, schedulers: { type: "string", default: "uniform,dapo,metis" }, "eval-items": { type: "string", default: "96" } } });
  const steps = Number(values.steps);
  const dir = mkdtempSync(join(tmpdir(), "metis-curricula-"));
  const runs: Record<string, unknown>[] = [];
  try {
    // An entry is a scheduler, optionally with a preset: "metis:paper" is METIS as the paper sets it.
    for (const entry of values.schedulers.split(",")) {
      const [scheduler, preset = "workbench"] = entry.split(":") as [string, PresetName | undefined];
      if (!(preset in PRESETS)) throw new Error(`unknown preset "${preset}" in --schedulers (known: ${Object.keys(PRESETS).join(", ")})`);
      const metrics: StepMetrics[] = [];
      const t0 = performance.now();
      const run = await RftRun.create(dir, withPreset(preset, {
        model: "resources/models/metis-tiny.gguf", dataset: "resources/datasets/synthetic-train.jsonl", evalDataset: "resources/datasets/synthetic-test.jsonl",
        scheduler: scheduler as never, steps, batchSize: 8, groupSize: 8, maxTokens: 96, evalEvery: steps, evalItems: Number(values["eval-items"]), evalSamples: 4, seed: 11, checkpointEvery: 1000,
      }), (e) => {
        if (e.type !== "step") return;
        metrics.push(e.metrics);
        console.log(`${scheduler} step ${e.metrics.step} reward ${e.metrics.rewardMean.toFixed(3)} zero-var ${e.metrics.zeroVarianceShare.toFixed(2)}${e.metrics.heldOutPassRate === null ? "" : ` held-out ${e.metrics.heldOutPassRate.toFixed(3)}`}`);
      });
      await run.run();
      await run.dispose();
      const mean = (f: (m: StepMetrics) => number): number => metrics.reduce((a, m) => a + f(m), 0) / metrics.length;
      const judged = metrics.filter((m) => m.judgeAbsError !== null);
      runs.push({
        scheduler: entry,
        steps,
        heldOutPassRate: metrics.filter((m) => m.heldOutPassRate !== null).map((m) => ({ step: m.step, passRate: m.heldOutPassRate, reward: m.heldOutReward })),
        meanTrainReward: mean((m) => m.rewardMean),
        zeroVarianceShare: mean((m) => m.zeroVarianceShare),
        wastedRollouts: metrics.reduce((a, m) => a + m.wastedRollouts, 0),
        judgeAbsErrorFirstHalf: judged.length ? judged.slice(0, judged.length >> 1).reduce((a, m) => a + m.judgeAbsError!, 0) / Math.max(1, judged.length >> 1) : null,
        judgeAbsErrorSecondHalf: judged.length ? judged.slice(judged.length >> 1).reduce((a, m) => a + m.judgeAbsError!, 0) / Math.max(1, judged.length - (judged.length >> 1)) : null,
        judgmentPromptTokensPerStep: mean((m) => m.info["metis/judgmentTokens"] ?? 0),
        rolloutTokensPerStep: mean((m) => m.rolloutTokens),
        secondsPerStep: (performance.now() - t0) / 1000 / steps,
      });
      console.log(JSON.stringify(runs.at(-1)));
    }
    return writeResult("curricula", { model: "metis-tiny", dataset: "synthetic-train", batch: 8, group: 8, maxTokens: 96, evalItems: Number(values["eval-items"]), evalSamples: 4, runs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
