// What the pre-flight at Start reports (engine/preflight.ts): the memory and time estimate against
// the machine, and the base model's baseline sample. Shared with the renderer; no Node imports.
import { z } from "zod";

export const MemoryEstimateSchema = z.object({
  totalMB: z.number(),
  runtimeMB: z.number(),
  weightsMB: z.number(),
  setupMB: z.number(),
  llamaMB: z.number(),
  kvCacheMB: z.number(),
  loraMB: z.number(),
  activationsMB: z.number(),
});

export const PreflightEstimateSchema = z.object({
  memory: MemoryEstimateSchema,
  time: z.object({ setupSeconds: z.number(), rolloutSeconds: z.number(), updateSeconds: z.number(), stepSeconds: z.number() }),
  availableMB: z.number(),
  totalMB: z.number(),
  fits: z.boolean(),
  /** Settings that would fit, each changed alone; empty when it fits. */
  suggestions: z.array(z.string()),
  /** The refusal; null when it fits. */
  message: z.string().nullable(),
  parameters: z.number(),
});
export type PreflightEstimate = z.infer<typeof PreflightEstimateSchema>;

export const BaselineSchema = z.object({
  prompts: z.number(),
  samplesPerPrompt: z.number(),
  maxTokens: z.number(),
  passRate: z.number(),
  meanReward: z.number(),
  zeroVarianceGroups: z.number(),
  truncated: z.number(),
  seconds: z.number(),
  /** Stopped before all its prompts at the time limit (a large model on a CPU); older reports lack it. */
  timeLimited: z.boolean().default(false),
  warning: z.string().nullable(),
});
export type Baseline = z.infer<typeof BaselineSchema>;

/** runs.preflight's result, and what runs.start reports of its own pre-flight. */
export const PreflightResultSchema = z.object({
  estimate: PreflightEstimateSchema,
  baseline: BaselineSchema.nullable(),
  warnings: z.array(z.string()),
  seconds: z.number(),
});
export type PreflightResult = z.infer<typeof PreflightResultSchema>;
