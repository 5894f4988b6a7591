// One entry point for scoring a completion against a row's reward spec.
import type { RewardSpec } from "../datasets/task-row.js";
import { jsCodeRewardDetailed, pythonCodeRewardDetailed, type ScoredCompletion } from "./code-reward.js";
import { continuousReward } from "./continuous-reward.js";
import { functionCallReward, type PossibleAnswer } from "./function-call-reward.js";
import { mathReward } from "./math-reward.js";

export type { ScoredCompletion } from "./code-reward.js";

/** The reward of `completion` under `spec` with the reason for a failure; never throws (an unexpected error is a null with its message). */
export async function scoreCompletionDetailed(spec: RewardSpec, completion: string): Promise<ScoredCompletion> {
  try {
    switch (spec.kind) {
      case "math":
        return { reward: mathReward(completion, spec.answer) };
      case "continuous":
        return { reward: continuousReward(completion, spec.target, spec.scale) };
      case "function-call":
        return { reward: functionCallReward(completion, spec.expected as PossibleAnswer[], spec.partialCredit) };
      case "code":
        if (spec.language === "python") return await pythonCodeRewardDetailed(completion, spec.entryPoint, spec.tests, spec.prelude ?? "");
        return await jsCodeRewardDetailed(completion, spec.entryPoint, spec.tests);
    }
  } catch (e) {
    return { reward: null, reason: `the reward failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The reward of `completion` under `spec`: a number, or null when it cannot be scored. */
export async function scoreCompletion(spec: RewardSpec, completion: string): Promise<number | null> {
  return (await scoreCompletionDetailed(spec, completion)).reward;
}
