// What the run screen shows beyond the curves: a step's completions for one prompt (the
// heatmap's cell), the base model against the run's adapter on its evaluation set ("did it
// help?"), and one prompt tried on both ("try it"). Schemas shared by the engine, which
// validates its results with them, and the renderer. No Node or DOM imports.
import { z } from "zod";

/** One completion of a rolled-out prompt at a step. */
export const SampleCompletionSchema = z.object({
  text: z.string(),
  reward: z.number().nullable(),
  /** null: the group was not trained on (DAPO dropped it). */
  advantage: z.number().nullable(),
  finishReason: z.string(),
});

/** A prompt's completions at a step, and for METIS the judgment asked about it. */
export const PromptSamplesSchema = z.object({
  id: z.string(),
  completions: z.array(SampleCompletionSchema),
  judgment: z.object({ prompt: z.string(), answers: z.array(z.object({ text: z.string(), predicted: z.number().nullable() })), predicted: z.number().nullable() }).optional(),
});
export type PromptSamples = z.infer<typeof PromptSamplesSchema>;

/** `runs.samples`: `recorded` false when the step has no record (the run predates samples.jsonl, or the file reached its bound). */
export const StepSamplesResultSchema = z.object({ step: z.number(), recorded: z.boolean(), prompts: z.array(PromptSamplesSchema) });

const Overall = z.object({ items: z.number(), passRate: z.number(), meanReward: z.number(), inBetween: z.number(), solved: z.number(), unsolved: z.number() });

/** One row of the comparison (eval/compare.ts's CompareRow): a (family, difficulty) cell, or the overall row (family null). */
export const CompareRowSchema = z.object({
  family: z.string().nullable(),
  difficulty: z.number().nullable(),
  items: z.number(),
  base: z.number(),
  adapter: z.number(),
  delta: z.number(),
  deltaStdErr: z.number().nullable(),
  baseReward: z.number(),
  adapterReward: z.number(),
  improved: z.number(),
  regressed: z.number(),
});
export type CompareRowView = z.infer<typeof CompareRowSchema>;

/** The base model against the run's adapter, as stored in the run's compare.json. */
export const RunComparisonSchema = z.object({
  /** The loop step of the checkpoint whose adapter was measured. */
  step: z.number().int().min(0),
  at: z.string(),
  /** The evaluation set's file name, items measured (of how many rows), completions per item. */
  dataset: z.string(),
  items: z.number().int(),
  rows: z.number().int(),
  samples: z.number().int(),
  sampling: z.object({ temperature: z.number(), maxTokens: z.number(), seed: z.number() }),
  table: z.array(CompareRowSchema),
  base: Overall,
  adapter: Overall,
  ms: z.number(),
});
export type RunComparison = z.infer<typeof RunComparisonSchema>;

/** How far a comparison under way has come: items evaluated of the total (base and adapter together). */
export const CompareProgressSchema = z.object({ phase: z.enum(["adapter", "base"]), done: z.number(), total: z.number() });
export type CompareProgress = z.infer<typeof CompareProgressSchema>;

/** `runs.comparison`: the stored comparison, the one under way, and why the last one failed. */
export const ComparisonStateSchema = z.object({ comparison: RunComparisonSchema.nullable(), running: CompareProgressSchema.nullable(), error: z.string().nullable() });
export type ComparisonState = z.infer<typeof ComparisonStateSchema>;

const Tried = z.object({ text: z.string(), tokens: z.number(), finishReason: z.string() });
/** `runs.try`: one prompt sampled with the base model and with the run's adapter, same seed and settings. */
export const TryResultSchema = z.object({ step: z.number(), base: Tried, adapter: Tried, sampling: z.object({ temperature: z.number(), maxTokens: z.number(), seed: z.number() }) });
export type TryResult = z.infer<typeof TryResultSchema>;
