// `metis train`: a headless RFT run with a progress line per step and a final summary.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CURRICULA } from "../curriculum/registry.js";
import { withPreset } from "../rft/rft-config.js";
import { RftRun, type RftEvent, type StepMetrics } from "../rft/rft-run.js";
import { choiceOption, numberOption } from "./usage-error.js";

export const TRAIN_USAGE = `metis train [--model FILE] [--dataset FILE] [--scheduler ${CURRICULA.join("|")}] [--steps N] [--seed S] [--batch N] [--group N] [--lr X] [--max-tokens N] [--checkpoint-every N] [--preset workbench|paper] [--runs DIR] [--resume RUN_DIR [--steps N]] [--json]`;

const BUILTIN_MODEL = "resources/models/metis-tiny.gguf";
const BUILTIN_DATASET = "resources/datasets/synthetic-train.jsonl";
const BUILTIN_TEST = "resources/datasets/synthetic-test.jsonl";

/** "1 h 02 min", "3 min 05 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

/** Run `metis train`; returns the summary to print. */
export async function trainCommand(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: "string" }, dataset: { type: "string" }, scheduler: { type: "string" }, steps: { type: "string" }, seed: { type: "string" },
      batch: { type: "string" }, group: { type: "string" }, lr: { type: "string" }, runs: { type: "string", default: "runs" }, resume: { type: "string" }, "checkpoint-every": { type: "string" }, "max-tokens": { type: "string" },
      preset: { type: "string" }, json: { type: "boolean", default: false },
    },
  });
  const lines: StepMetrics[] = [];
  const onEvent = (e: RftEvent): void => {
    if (e.type === "step") {
      lines.push(e.metrics);
      const m = e.metrics;
      const judge = m.judgeAbsError === null ? "" : `  judge |err| ${m.judgeAbsError.toFixed(3)}${m.judgeSpearman === null ? "" : ` ρ ${m.judgeSpearman.toFixed(2)}`}`;
      const heldOut = m.heldOutPassRate === null ? "" : `  held-out ${(m.heldOutPassRate * 100).toFixed(1)}%`;
      if (!values.json) {
        // ETA from the mean step time of this session's steps.
        const remaining = Math.max(0, totalSteps() - m.step);
        const eta = remaining * (lines.reduce((a, x) => a + x.stepMs, 0) / lines.length / 1000);
        process.stderr.write(`step ${m.step}/${totalSteps()}  reward ${m.rewardMean.toFixed(3)}  pass ${(m.passRate * 100).toFixed(1)}%  zero-var ${(m.zeroVarianceShare * 100).toFixed(0)}%${judge}${heldOut}  ${(m.stepMs / 1000).toFixed(1)}s  ETA ${formatDuration(eta)}\n`);
      }
    } else if (e.type === "checkpoint" && !values.json) process.stderr.write(`checkpoint ${e.dir}\n`);
  };
  let totalSteps = (): number => 0;
  const run = values.resume
    ? await RftRun.resume(values.resume, onEvent, values.steps ? { steps: numberOption("steps", values.steps, 0, { integer: true, min: 1 }) } : {})
    : await RftRun.create(values.runs, withPreset(choiceOption("preset", values.preset, ["workbench", "paper"] as const, "workbench"), {
        model: values.model ?? BUILTIN_MODEL,
        dataset: values.dataset ?? BUILTIN_DATASET,
        // The built-in dataset comes with a held-out split: measure it as the run goes.
        ...(values.dataset ? {} : { evalDataset: BUILTIN_TEST }),
        ...(values.scheduler ? { scheduler: choiceOption("scheduler", values.scheduler, CURRICULA, "metis") } : {}),
        ...(values.steps ? { steps: numberOption("steps", values.steps, 0, { integer: true, min: 1 }) } : {}),
        ...(values.seed ? { seed: numberOption("seed", values.seed, 0, { integer: true, min: 0, max: 0xffffffff }) } : {}),
        ...(values.batch ? { batchSize: numberOption("batch", values.batch, 0, { integer: true, min: 1 }) } : {}),
        ...(values.group ? { groupSize: numberOption("group", values.group, 0, { integer: true, min: 2 }) } : {}),
        ...(values.lr ? { learningRate: numberOption("lr", values.lr, 0, { min: 0, max: 1 }) } : {}),
        ...(values["checkpoint-every"] ? { checkpointEvery: numberOption("checkpoint-every", values["checkpoint-every"], 0, { integer: true, min: 1 }) } : {}),
        ...(values["max-tokens"] ? { maxTokens: numberOption("max-tokens", values["max-tokens"], 0, { integer: true, min: 1 }) } : {}),
      }), onEvent);
  totalSteps = () => run.currentConfig.steps;
  const c = run.currentConfig;
  if (!values.json) {
    process.stderr.write(`${values.resume ? "resuming" : "training"} ${run.store.dir}\n  model ${c.model}\n  dataset ${c.dataset}${c.evalDataset ? ` (held-out: ${c.evalDataset})` : ""}\n  ${c.scheduler}, steps ${run.step}/${c.steps}, ${c.batchSize} prompts × ${c.groupSize} completions, ${c.maxTokens} tokens, lr ${c.learningRate}, LoRA r${c.loraRank}, seed ${c.seed}\n`);
  }
  // Ctrl-C pauses at the next step boundary (with a checkpoint) instead of losing the step; a second one quits.
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    if (!values.json) process.stderr.write("pausing after this step (a checkpoint is written); Ctrl-C again to quit now\n");
    run.pause();
  };
  process.on("SIGINT", onSigint);
  try {
    if (run.finished && run.store.run.data.status === "finished") {
      const done = `already finished after ${run.step} steps (${run.store.dir}); to train further: metis train --resume ${run.store.dir} --steps ${run.step * 2}`;
      return values.json ? JSON.stringify({ run: run.id, dir: run.store.dir, status: "finished", steps: run.step, alreadyFinished: true }) : done;
    }
    const status = await run.run();
    const mean = (k: keyof StepMetrics): number => lines.reduce((a, m) => a + (m[k] as number), 0) / Math.max(1, lines.length);
    const summary = { run: run.id, dir: run.store.dir, status, steps: run.step, rewardMeanFirst: lines[0]?.rewardMean ?? null, rewardMeanLast: lines.at(-1)?.rewardMean ?? null, meanStepSeconds: mean("stepMs") / 1000 };
    if (values.json) return JSON.stringify(summary);
    return `${status} after ${summary.steps} steps (${join(run.store.dir)}); reward ${summary.rewardMeanFirst?.toFixed(3)} → ${summary.rewardMeanLast?.toFixed(3)}, ${summary.meanStepSeconds.toFixed(1)} s/step. Resume with: metis train --resume ${run.store.dir}`;
  } finally {
    process.off("SIGINT", onSigint);
    await run.dispose();
  }
}
