// Warnings a run view shows, derived from the steps it has (live or reopened): pure, no Node or DOM.
import type { StepMetrics } from "./run-types.js";

/** Consecutive steps without any learning signal before the run view warns. */
export const NO_SIGNAL_STEPS = 3;

/**
 * A warning when the latest `NO_SIGNAL_STEPS` steps had only zero-variance groups (every
 * completion of a prompt got the same reward, so every advantage is 0 and nothing is learned),
 * or null. GSM8K on the built-in model ran this way from step 1 with reward 0 and nothing said so.
 */
export function noSignalWarning(metrics: readonly Pick<StepMetrics, "step" | "zeroVarianceShare" | "rewardMean">[]): string | null {
  if (metrics.length < NO_SIGNAL_STEPS) return null;
  const last = metrics.slice(-NO_SIGNAL_STEPS);
  if (!last.every((m) => m.zeroVarianceShare >= 1)) return null;
  const reward = last.reduce((s, m) => s + m.rewardMean, 0) / last.length;
  const cause = reward <= 0 ? "every completion scored 0: the prompts are too hard for this model as set (a longer Max tokens, an easier dataset or a stronger model)"
    : reward >= 1 ? "every completion scored 1: the prompts are too easy to learn from (a harder dataset)"
    : "every completion of a prompt scored the same (a higher temperature or a larger group)";
  const span = last[0]!.step === 1 ? `the first ${NO_SIGNAL_STEPS} steps` : `steps ${last[0]!.step}–${last.at(-1)!.step}`;
  return `No learning signal in ${span}: 100 % of groups had zero reward variance (mean reward ${reward.toFixed(2)}), so no update changes the model. Likely ${cause}.`;
}
