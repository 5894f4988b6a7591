// `metis train`: a headless RFT run with a progress line per step and a final summary.
import { join, resolve } from "node:path";
import type { z } from "zod";
import { CURRICULA } from "../curriculum/registry.js";
import { PRESETS, resolveRftConfig, RftConfigSchema, withPreset, type PresetName, type RftConfig } from "../rft/rft-config.js";
import { RftRun, type RftEvent, type StepMetrics } from "../rft/rft-run.js";
import { LR_SCHEDULES } from "../rft/lr-schedule.js";
import { DECODINGS, PROMPT_FORMATS } from "../rollout/prompt-format.js";
import { judgePicks, judgePicksLine } from "../protocol/judge-picks.js";
import { BASELINE_TIME_LIMIT_S, runPreflight, type PreflightReport } from "../engine/preflight.js";
import { choice, flag, int, num, parseCommand, str, type CommandSpec } from "./options.js";
import { packageRoot } from "./package-root.js";

// The built-in model and dataset where the package is installed, whatever folder the command runs in.
const RESOURCES = join(packageRoot(), "resources");
const BUILTIN_MODEL = join(RESOURCES, "models/metis-tiny.gguf");
const BUILTIN_DATASET = join(RESOURCES, "datasets/synthetic-train.jsonl");
const BUILTIN_TEST = join(RESOURCES, "datasets/synthetic-test.jsonl");

/** The run configuration's defaults: what a field left out of the command line becomes. */
const RUN = resolveRftConfig({ model: BUILTIN_MODEL, dataset: BUILTIN_DATASET });

/** The run config's bounds on a numeric field (zod knows them), so a bad value is a usage error naming them. */
function bounds(key: keyof RftConfig): { min?: number; max?: number } {
  const field = (RftConfigSchema.shape[key] as z.ZodDefault<z.ZodNumber>).unwrap();
  return { ...(field.minValue !== null && Number.isFinite(field.minValue) ? { min: field.minValue } : {}), ...(field.maxValue !== null && Number.isFinite(field.maxValue) ? { max: field.maxValue } : {}) };
}

export const TRAIN_COMMAND = {
  name: "train",
  summary: "reinforcement fine-tuning with a curriculum (METIS by default); with no options, the built-in model on the built-in dataset",
  options: {
    model: str("FILE", "GGUF model to fine-tune", { default: RUN.model }),
    dataset: str("FILE", "JSONL task rows to train on; the built-in set also measures its held-out split", { default: RUN.dataset }),
    scheduler: choice(CURRICULA, "prompt scheduler", { default: RUN.scheduler }),
    preset: choice(Object.keys(PRESETS) as PresetName[], "set of defaults: the workbench's or the METIS paper's", { default: "workbench" }),
    steps: int("N", "optimizer steps (with --resume: the new total)", { default: RUN.steps, ...bounds("steps") }),
    seed: int("N", "seed of every random choice in the run", { default: RUN.seed, ...bounds("seed") }),
    batch: int("N", "prompts rolled out per step", { default: RUN.batchSize, ...bounds("batchSize") }),
    group: int("N", "completions per prompt (the GRPO group)", { default: RUN.groupSize, ...bounds("groupSize") }),
    lr: num("X", "AdamW learning rate", { default: RUN.learningRate, ...bounds("learningRate") }),
    "lr-schedule": choice(LR_SCHEDULES, "learning rate over the run: constant, or cosine decay from --lr to a tenth of it by the last step", { default: RUN.learningRateSchedule }),
    "max-tokens": int("N", "most tokens per completion", { default: RUN.maxTokens, ...bounds("maxTokens") }),
    "prompt-format": choice(PROMPT_FORMATS, "prompts through the model's chat template, as written, or chat when the model has a template", { default: RUN.promptFormat }),
    decoding: choice(DECODINGS, "rollouts decode one context per sequence (fastest on CPU) or all sequences as one batch (for GPUs)", { default: RUN.decoding }),
    "lora-rank": int("N", "LoRA rank of the adapter", { default: RUN.loraRank, ...bounds("loraRank") }),
    "micro-batch-tokens": int("N", "padded token positions per training micro-batch (bounds the update's activation memory)", { default: RUN.microBatchTokens, ...bounds("microBatchTokens") }),
    "no-baseline": flag("skip the pre-flight baseline sample (8 prompts × the group size with the base model)"),
    force: flag("start even when the pre-flight memory estimate exceeds the available memory"),
    "checkpoint-every": int("N", "write a checkpoint every N steps (and on pause and stop)", { default: RUN.checkpointEvery, ...bounds("checkpointEvery") }),
    runs: str("DIR", "folder the run's directory is made in", { default: "runs" }),
    resume: str("RUN_DIR", "continue a run from its last checkpoint (other options but --steps are the run's own)"),
    json: flag("print a JSON summary instead of the progress lines"),
  },
} satisfies CommandSpec;

/** "1 h 02 min", "3 min 05 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

/** The pre-flight's lines for stderr: the estimate, the baseline sample, and its warnings. */
export function preflightLines(r: PreflightReport): string {
  const m = r.memory.estimate.memory;
  const t = r.memory.estimate.time;
  const gb = (mb: number): string => `${(mb / 1024).toFixed(1)} GB`;
  const secs = (x: number): string => (x < 10 ? `${x.toFixed(1)} s` : formatDuration(x));
  const lines = [
    `pre-flight: memory ≈ ${gb(m.totalMB)} at peak (weights ${gb(m.weightsMB + m.llamaMB)}, update activations ${gb(m.activationsMB)}) of ${gb(r.memory.availableMB)} available; set-up ≈ ${secs(t.setupSeconds)}, ≈ ${secs(t.stepSeconds)} per step at most (rollouts ${secs(t.rolloutSeconds)}, update ${secs(t.updateSeconds)})`,
  ];
  const b = r.baseline;
  if (b) lines.push(`pre-flight: baseline ${b.prompts} prompts × ${b.samplesPerPrompt}: pass ${(b.passRate * 100).toFixed(0)} %, mean reward ${b.meanReward.toFixed(3)}, ${b.zeroVarianceGroups}/${b.prompts} groups without variance (${b.seconds.toFixed(1)} s${b.timeLimited ? `, stopped at the ${BASELINE_TIME_LIMIT_S} s limit` : ""})`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n") + "\n";
}

/** Run `metis train`; returns the summary to print. */
export async function trainCommand(argv: string[]): Promise<string> {
  const { values, given } = parseCommand(TRAIN_COMMAND, argv);
  const lines: StepMetrics[] = [];
  const onEvent = (e: RftEvent): void => {
    if (e.type === "step") {
      lines.push(e.metrics);
      const m = e.metrics;
      // Not the step's ρ (judgeSpearman): taken over mostly the judge's top picks, it reads near 0 even
      // for a judge that ranks the whole pool well. Its picks against exploration's, over the last
      // steps, say whether judging pays.
      const picks = judgePicksLine(judgePicks(lines));
      const judge = `${m.judgeAbsError === null ? "" : `  judge |err| ${m.judgeAbsError.toFixed(3)}`}${picks === null ? "" : `  ${picks}`}`;
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
  // Only options given on the command line are passed on: the preset's defaults apply to the rest.
  const explicit = <K extends keyof RftConfig>(option: keyof typeof values & string, key: K, value: RftConfig[K]): Partial<RftConfig> => (given.has(option) ? { [key]: value } : {});
  const input = values.resume
    ? null
    : withPreset(values.preset, {
        // Absolute in the run's config: a run resumed from another folder finds its files.
        model: resolve(values.model),
        dataset: resolve(values.dataset),
        // The built-in dataset comes with a held-out split: measure it as the run goes.
        ...(given.has("dataset") ? {} : { evalDataset: BUILTIN_TEST }),
        ...explicit("scheduler", "scheduler", values.scheduler),
        ...explicit("steps", "steps", values.steps),
        ...explicit("seed", "seed", values.seed),
        ...explicit("batch", "batchSize", values.batch),
        ...explicit("group", "groupSize", values.group),
        ...explicit("lr", "learningRate", values.lr),
        ...explicit("lr-schedule", "learningRateSchedule", values["lr-schedule"]),
        ...explicit("checkpoint-every", "checkpointEvery", values["checkpoint-every"]),
        ...explicit("max-tokens", "maxTokens", values["max-tokens"]),
        ...explicit("prompt-format", "promptFormat", values["prompt-format"]),
        ...explicit("decoding", "decoding", values.decoding),
        ...explicit("lora-rank", "loraRank", values["lora-rank"]),
        ...explicit("micro-batch-tokens", "microBatchTokens", values["micro-batch-tokens"]),
      });
  // Pre-flight before the run exists: prompts that cannot fit and a memory estimate over the
  // machine's are refused (--force overrides the latter); the baseline sample only warns.
  const preflight = input ? await runPreflight(resolveRftConfig(input), { baseline: !values["no-baseline"], force: values.force }) : null;
  if (preflight) process.stderr.write(values.json ? preflight.warnings.map((w) => `warning: ${w}\n`).join("") : preflightLines(preflight));
  const run = input ? await RftRun.create(values.runs, input, onEvent) : await RftRun.resume(values.resume!, onEvent, given.has("steps") ? { steps: values.steps } : {});
  totalSteps = () => run.currentConfig.steps;
  const c = run.currentConfig;
  if (!values.json) {
    process.stderr.write(`${values.resume ? "resuming" : "training"} ${run.store.dir}\n  model ${c.model}\n  dataset ${c.dataset}${c.evalDataset ? ` (held-out: ${c.evalDataset})` : ""}\n  ${c.scheduler}, steps ${run.step}/${c.steps}, ${c.batchSize} prompts × ${c.groupSize} completions, ${c.maxTokens} tokens, lr ${c.learningRate}${c.learningRateSchedule === "cosine" ? " (cosine to a tenth)" : ""}, LoRA r${c.loraRank}, seed ${c.seed}\n  prompts ${run.usesChatTemplate ? "through the model's chat template" : "raw"}\n`);
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
    const summary = { run: run.id, dir: run.store.dir, status, steps: run.step, ...(preflight ? { preflight: { memoryMB: Math.round(preflight.memory.estimate.memory.totalMB), availableMB: Math.round(preflight.memory.availableMB), stepSeconds: preflight.memory.estimate.time.stepSeconds, baseline: preflight.baseline, warnings: preflight.warnings } } : {}), rewardMeanFirst: lines[0]?.rewardMean ?? null, rewardMeanLast: lines.at(-1)?.rewardMean ?? null, meanStepSeconds: mean("stepMs") / 1000 };
    if (values.json) return JSON.stringify(summary);
    return `${status} after ${summary.steps} steps (${join(run.store.dir)}); reward ${summary.rewardMeanFirst?.toFixed(3)} → ${summary.rewardMeanLast?.toFixed(3)}, ${summary.meanStepSeconds.toFixed(1)} s/step. Resume with: metis train --resume ${run.store.dir}`;
  } finally {
    process.off("SIGINT", onSigint);
    await run.dispose();
  }
}
