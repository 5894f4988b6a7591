import { z } from "zod";

/**
 * Sampler settings for rollouts. Every field is passed to llama.cpp explicitly: the library's
 * own defaults (top-k 40, top-p 0.95) would silently truncate the policy's distribution, and
 * policy-gradient methods need samples from the distribution they score.
 */
export const SamplingSchema = z.object({
  /** Softmax temperature; 0 means greedy. */
  temperature: z.number().min(0).max(10).default(1),
  /** Nucleus mass kept; 1 keeps everything. */
  topP: z.number().gt(0).max(1).default(1),
  /** Keep only the k most likely tokens; 0 disables. */
  topK: z.number().int().min(0).default(0),
  /** Drop tokens below minP × the top probability; 0 disables. */
  minP: z.number().min(0).max(1).default(0),
  /** Most tokens generated per completion. */
  maxTokens: z.number().int().min(1).max(32768).default(256),
  /** Generation ends when the text contains one of these; the text is cut before it. */
  stop: z.array(z.string().min(1)).max(16).default([]),
  /** Base seed; completion j of prompt i uses a seed derived from (seed, i, j). */
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  /** Also return each sampled token's log-probability under the sampling distribution. */
  logprobs: z.boolean().default(false),
  /**
   * Sample a prompt's completions as one tree: each distinct prefix is evaluated once and every
   * sample reaching it draws its next token from the distribution there (the same distribution,
   * so the samples are as independent as usual). For short answers, whose samples share most of
   * their tokens (METIS judgments: " 0.1" of " 0.15" and " 0.19"); pool decoding only.
   */
  tree: z.boolean().default(false),
});

export type Sampling = z.infer<typeof SamplingSchema>;
export type SamplingInput = z.input<typeof SamplingSchema>;

/** Validate and complete sampler settings; the error lists each bad field. */
export function resolveSampling(input: SamplingInput = {}): Sampling {
  const parsed = SamplingSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid sampling settings: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

/** Seed of completion `sample` of prompt `prompt`: distinct, reproducible, never 0-collapsing. */
export function completionSeed(seed: number, prompt: number, sample: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const x of [prompt, sample]) {
    h = Math.imul(h ^ x, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}
