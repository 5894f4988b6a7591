// The configuration of an RFT run: one zod schema, every field with a default and a doc. The
// resolved config is saved with the run and in every checkpoint.
import { z } from "zod";
import { JUDGMENT_REWARDS } from "../curriculum/metis.js";
import { LrScheduleSchema } from "./lr-schedule.js";
import { CURRICULA } from "../curriculum/registry.js";
import { AGGREGATIONS } from "../train/losses.js";
import { LORA_TARGETS } from "../train/llama/param-table.js";
import { DECODINGS, DEFAULT_DECODING, PROMPT_FORMATS } from "../rollout/prompt-format.js";
import { updateThreadsFor } from "../util/threads.js";
import { MAX_PACKED_WIDTH } from "../train/llama/policy-pack.js";

export const RftConfigSchema = z.object({
  /** GGUF model to fine-tune (F32 keeps rollouts and training numerically identical). */
  model: z.string().min(1),
  /** JSONL dataset of task rows (the built-in training split by default). */
  dataset: z.string().min(1),
  /** Prompt scheduler. */
  scheduler: z.enum(CURRICULA).default("metis"),
  /** Optimizer steps to run. */
  steps: z.number().int().min(1).max(1_000_000).default(100),
  /** Prompts rolled out per step. */
  batchSize: z.number().int().min(1).max(1024).default(8),
  /** Completions per prompt (the GRPO group). */
  groupSize: z.number().int().min(2).max(256).default(8),
  /** Prompts through the model's chat template ("chat"), as written ("raw"), or chat when the model has a template ("auto"). */
  promptFormat: z.enum(PROMPT_FORMATS).default("auto"),
  /** How rollouts decode: one context per sequence ("pool", fastest on CPU) or all sequences as one llama.cpp batch ("batched", for GPUs). */
  decoding: z.enum(DECODINGS).default(DEFAULT_DECODING),
  /** Sampling temperature for rollouts. */
  temperature: z.number().min(0.05).max(5).default(1),
  /** Most tokens per completion. */
  maxTokens: z.number().int().min(1).max(8192).default(96),
  /** LoRA rank, alpha and targets. */
  loraRank: z.number().int().min(1).max(512).default(16),
  loraAlpha: z.number().positive().default(32),
  loraTargets: z.array(z.enum(LORA_TARGETS)).min(1).default(["q", "k", "v", "o", "gate", "up", "down"]),
  /** AdamW learning rate. */
  learningRate: z.number().positive().max(1).default(2e-3),
  /** Learning rate over the run: constant, or cosine decay to a tenth by the last step (rft/lr-schedule.ts). */
  learningRateSchedule: LrScheduleSchema.default("cosine"),
  /** PPO ratio clip: [1 − clipLow, 1 + clipHigh] (DAPO's clip-higher: clipHigh > clipLow). */
  clipLow: z.number().min(0).max(1).default(0.2),
  clipHigh: z.number().min(0).max(10).default(0.28),
  /** KL penalty (k3) to the base model (the adapter switched off); 0 disables it and its extra forward pass. */
  klCoef: z.number().min(0).default(0),
  /** How per-token losses are aggregated. */
  aggregation: z.enum(AGGREGATIONS).default("token-mean"),
  /** Divide group advantages by the group's standard deviation. */
  scaleAdvantages: z.boolean().default(true),
  /** METIS: candidates judged per step (× batch), examples per judgment, judgment samples, exploration share, λ. */
  metisPoolFactor: z.number().min(1).max(32).default(3),
  metisWindow: z.number().int().min(0).max(64).default(3),
  metisExamples: z.enum(["recent", "stratified", "similar"]).default("similar"),
  metisJudgmentSamples: z.number().int().min(1).max(16).default(4),
  metisExploration: z.number().min(0).max(1).default(0.25),
  /** Weight of the self-judgment loss in the joint objective. */
  judgmentWeight: z.number().min(0).max(10).default(0.5),
  /** How the judgment loss is averaged: over its own tokens ("separate", task loss + λ · judgment loss) or in one token mean with the task's ("joint"). */
  judgmentNormalization: z.enum(["joint", "separate"]).default("joint"),
  /** How a judgment is scored against the observed variance (see curriculum/metis.ts). */
  judgmentReward: z.enum(JUDGMENT_REWARDS).default("absolute"),
  /** Judgment advantages: "group" (centred within a candidate's J samples) or "moving-average" (REINFORCE against a running mean, the paper's). */
  judgmentBaseline: z.enum(["group", "moving-average"]).default("group"),
  /** Held-out rows to measure pass rate on (JSONL); none disables it. */
  evalDataset: z.string().min(1).optional(),
  /** Measure the held-out pass rate every N steps, on this many rows with this many samples each. */
  evalEvery: z.number().int().min(1).default(10),
  evalItems: z.number().int().min(1).max(10_000).default(32),
  evalSamples: z.number().int().min(1).max(64).default(4),
  /** Write a checkpoint every N steps (and on pause and stop). */
  checkpointEvery: z.number().int().min(1).default(10),
  /** Seed of every random choice in the run. */
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  /**
   * Padded token positions per training micro-batch: sequences are grouped by length and their
   * gradients accumulated into one update, so short completions are not padded to the length of
   * long (e.g. METIS judgment) sequences and activation memory stays bounded.
   */
  microBatchTokens: z.number().int().min(64).max(1_048_576).default(8192),
  /** Pack sequences that share prompt prefixes (METIS judgments) as prefix trees in the update (token-mean only): same numbers, far fewer positions. */
  packPrefixes: z.boolean().default(true),
  /** The widest packed row, in positions: attention in a packed row is width², so wider rows share more but cost quadratically. */
  maxPackedWidth: z.number().int().min(64).max(65_536).default(MAX_PACKED_WIDTH),
  /**
   * The log-probs the PPO ratio divides by: "sampler" takes those llama.cpp reports for the
   * sampled tokens (used at temperature 1, where they are the policy's; saves a forward pass of the
   * update), "recompute" runs the training graph once more to get them.
   */
  oldLogProbs: z.enum(["sampler", "recompute"]).default("sampler"),
  /** ORT intra-op threads for the update; default one per core (2 on the 2-core VM, measured best there), at most 16. */
  threads: z.number().int().min(1).max(256).default(() => updateThreadsFor()),
});

export type RftConfig = z.infer<typeof RftConfigSchema>;
export type RftConfigInput = z.input<typeof RftConfigSchema>;

/**
 * Fields that may change mid-run (applied at the next step and recorded in the run's history).
 * klCoef is not among them: turning the KL term on or off changes the training graph's inputs.
 */
export const PATCHABLE = ["steps", "scheduler", "learningRate", "learningRateSchedule", "temperature", "judgmentWeight", "metisExploration", "metisPoolFactor", "metisWindow", "metisExamples", "metisJudgmentSamples"] as const;
type PatchField = (typeof PATCHABLE)[number];
/**
 * A change names only the fields it changes. The config's defaults are unwrapped first: inside
 * .partial() zod would still fill them and reset every field not named (a scheduler change put
 * `steps` back to 100, a custom temperature back to 1).
 */
export const RftPatchSchema = z
  .object(Object.fromEntries(PATCHABLE.map((k) => {
    const field = RftConfigSchema.shape[k] as z.ZodType;
    return [k, (field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : field).optional()];
  })) as { [K in PatchField]: z.ZodOptional<z.ZodType<RftConfig[K]>> })
  .strict();
export type RftPatch = z.infer<typeof RftPatchSchema>;

/**
 * METIS as the paper describes it (arXiv 2605.11235; ../shared/research/metis.md): K = 3 recent
 * examples, the top B of the pool with no exploration share, squared-error judgment reward,
 * λ = 0.01, one judgment per candidate trained by REINFORCE against a moving-average baseline,
 * task advantages without per-prompt std scaling (Dr. GRPO). The pool factor m is not given there.
 */
export const PAPER_PRESET = {
  metisWindow: 3,
  metisExamples: "recent",
  metisExploration: 0,
  metisJudgmentSamples: 1,
  judgmentWeight: 0.01,
  judgmentReward: "squared",
  judgmentBaseline: "moving-average",
  scaleAdvantages: false,
} as const satisfies Partial<RftConfig>;

/** Named sets of defaults: "workbench" (the schema's own) or "paper". */
export const PRESETS = { workbench: {}, paper: PAPER_PRESET } as const;
export type PresetName = keyof typeof PRESETS;

/** A config built on a preset's defaults; fields given explicitly win. */
export function withPreset(preset: PresetName, input: RftConfigInput): RftConfigInput {
  return { ...PRESETS[preset], ...input };
}

/** Validate and complete a config; the error lists each bad field. */
export function resolveRftConfig(input: RftConfigInput): RftConfig {
  const parsed = RftConfigSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid run configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}
