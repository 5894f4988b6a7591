// Checks made when a run starts, before its directory is created: a dataset whose prompts cannot
// fit the model's context would otherwise fail at whichever step first picks one (HumanEval on the
// built-in model died at step 2 on a 1 265-token prompt against a 1 024-token context).
import { basename } from "node:path";
import { readTaskRows } from "../datasets/default-datasets.js";
import type { RftConfig } from "../rft/rft-config.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";

/** How a dataset's prompts fit a context window. */
export interface PromptFit {
  /** Prompts checked. */
  total: number;
  /** Prompts whose tokens plus `maxTokens` exceed the context. */
  tooLong: number;
  /** Tokens of the longest prompt. */
  longest: number;
  contextSize: number;
  maxTokens: number;
}

/** Count the prompts that cannot fit: prompt tokens + maxTokens > contextSize. */
export function measurePromptFit(prompts: readonly string[], tokenize: (text: string) => number[], contextSize: number, maxTokens: number): PromptFit {
  let tooLong = 0;
  let longest = 0;
  for (const p of prompts) {
    const n = tokenize(p).length;
    longest = Math.max(longest, n);
    if (n + maxTokens > contextSize) tooLong++;
  }
  return { total: prompts.length, tooLong, longest, contextSize, maxTokens };
}

/** A run refused at start because some prompts cannot fit the model's context. */
export class PromptsTooLongError extends Error {
  override name = "PromptsTooLongError";
  constructor(
    readonly dataset: string,
    readonly fit: PromptFit,
  ) {
    super(promptFitMessage(basename(dataset), fit));
  }
}

/** What to tell the user about prompts that do not fit, naming how many and what to change. */
export function promptFitMessage(dataset: string, f: PromptFit): string {
  const room = f.contextSize - f.longest;
  const fix = room >= 1
    ? `lower Max tokens to ${room} or less, use a model with a longer context, or remove the long prompts from the dataset`
    : `the longest prompt alone (${f.longest} tokens) does not fit, so no Max tokens does: use a model with a longer context, or remove the long prompts from the dataset`;
  return `${dataset}: ${f.tooLong} of ${f.total} prompts cannot fit the model's context: prompt tokens + Max tokens (${f.maxTokens}) > ${f.contextSize} tokens (the longest prompt is ${f.longest} tokens). To train on it, ${fix}.`;
}

/**
 * Refuse a run whose training (or held-out) prompts cannot all fit the model's context.
 * Refused rather than skipped: a run that silently trains on a subset is not the dataset the user
 * chose, and its curves would not compare with another model's runs on it; the message says how
 * many prompts and what to change, and the user decides (a shorter Max tokens keeps every prompt).
 */
export async function checkPromptsFit(config: RftConfig): Promise<void> {
  const sets: { path: string; prompts: string[] }[] = [{ path: config.dataset, prompts: readTaskRows(config.dataset).map((r) => r.prompt) }];
  // Only the held-out rows the run measures (the first evalItems).
  if (config.evalDataset) sets.push({ path: config.evalDataset, prompts: readTaskRows(config.evalDataset).slice(0, config.evalItems).map((r) => r.prompt) });
  const engine = await RolloutEngine.load({ modelPath: config.model, promptFormat: config.promptFormat });
  try {
    for (const s of sets) {
      const fit = measurePromptFit(s.prompts, (t) => engine.promptTokens(t), engine.trainContextSize, config.maxTokens);
      if (fit.tooLong > 0) throw new PromptsTooLongError(s.path, fit);
    }
  } finally {
    await engine.dispose();
  }
}
