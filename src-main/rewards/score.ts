// One entry point for scoring a completion against a row's reward spec.
import type { RewardSpec } from "../datasets/task-row.js";
import { jsCodeReward, pythonCodeReward } from "./code-reward.js";
import { continuousReward } from "./continuous-reward.js";
import { functionCallReward, type PossibleAnswer } from "./function-call-reward.js";
import { mathReward } from "./math-reward.js";

/** The reward of `completion` under `spec`: a number, or null when it cannot be scored. */
export async function scoreCompletion(spec: RewardSpec, completion: string): Promise<number | null> {
  switch (spec.kind) {
    case "math":
      return mathReward(completion, spec.answer);
    case "continuous":
      return continuousReward(completion, spec.target, spec.scale);
    case "function-call":
      return functionCallReward(completion, spec.expected as PossibleAnswer[], spec.partialCredit);
    case "code":
      if (spec.language === "python") return pythonCodeReward(completion, spec.entryPoint, spec.tests, spec.prelude ?? "");
      return jsCodeReward(completion, spec.entryPoint, spec.tests);
  }
}
