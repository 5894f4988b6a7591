// Warnings a run view shows, derived from the steps it has (live or reopened): pure, no Node or DOM.
import type { StepMetrics } from "./run-types.js";

/** Consecutive steps without any learning signal before the run view warns. */
export const NO_SIGNAL_STEPS = 3;

/**
 * A warning when the latest `NO_SIGNAL_STEPS` or more steps had only zero-variance groups (every
 * completion of a prompt got the same reward, so every advantage is 0 and nothing is learned),
 * or null. It names the whole streak ("the first 40 steps", "steps 12–40"), so its wording grows
 * with the streak instead of sliding one step at a time: GSM8K on the built-in model ran this way
 * from step 1 with reward 0 and nothing said so.
 */
export function noSignalWarning(metrics: readonly Pick<StepMetrics, "step" | "zeroVarianceShare" | "rewardMean">[]): string | null {
  let start = metrics.length;
  while (start > 0 && metrics[start - 1]!.zeroVarianceShare >= 1) start--;
  const streak = metrics.slice(start);
  if (streak.length < NO_SIGNAL_STEPS) return null;
  const reward = streak.reduce((s, m) => s + m.rewardMean, 0) / streak.length;
  const cause = reward <= 0 ? "every completion scored 0: the prompts are too hard for this model as set (a longer Max tokens, an easier dataset or a stronger model)"
    : reward >= 1 ? "every completion scored 1: the prompts are too easy to learn from (a harder dataset)"
    : "every completion of a prompt scored the same (a higher temperature or a larger group)";
  const span = streak[0]!.step === 1 ? `the first ${streak.length} steps` : `steps ${streak[0]!.step}–${streak.at(-1)!.step}`;
  return `No learning signal in ${span}: 100 % of groups had zero reward variance (mean reward ${reward.toFixed(2)}), so no update changes the model. Likely ${cause}.`;
}
