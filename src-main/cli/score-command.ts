// `metis score`: score one completion with a built-in reward.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { RewardSpec } from "../datasets/task-row.js";
import { scoreCompletion } from "../rewards/score.js";
import { userJsReward } from "../rewards/user-reward.js";
import { choiceOption, requiredOption, UsageError } from "./usage-error.js";

export const SCORE_USAGE = "metis score --reward math|code|fc|continuous|FILE.js --completion FILE|- [--answer TEXT] [--entry-point NAME] [--json]";

/** Run `metis score`; returns the text to print. */
export async function scoreCommand(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, strict: true, options: { reward: { type: "string" }, completion: { type: "string" }, answer: { type: "string" }, "entry-point": { type: "string", default: "f" }, json: { type: "boolean", default: false } } });
  const rewardOption = requiredOption("reward", values.reward);
  const source = requiredOption("completion", values.completion);
  const completion = source === "-" ? readFileSync(0, "utf8") : readFileSync(source, "utf8");
  if (rewardOption.endsWith(".js")) {
    const value = await userJsReward(readFileSync(rewardOption, "utf8"), completion, values.answer === undefined ? null : { answer: values.answer });
    return values.json ? JSON.stringify({ reward: value }) : String(value);
  }
  const kind = choiceOption("reward", rewardOption, ["math", "code", "fc", "continuous"] as const, "math");
  const answer = requiredOption("answer", values.answer);
  let spec: RewardSpec;
  if (kind === "math") spec = { kind: "math", answer };
  else if (kind === "continuous") {
    const target = Number(answer);
    if (!Number.isFinite(target)) throw new UsageError(`--answer must be a number for a continuous reward, found "${answer}"`);
    spec = { kind: "continuous", target, scale: Math.max(1, Math.abs(target)) };
  } else if (kind === "code") spec = { kind: "code", language: "javascript", entryPoint: values["entry-point"], tests: answer };
  else {
    let expected: unknown;
    try {
      expected = JSON.parse(answer);
    } catch {
      throw new UsageError("--answer must be BFCL ground truth JSON for a function-call reward, e.g. '[{\"f\": {\"x\": [1]}}]'");
    }
    spec = { kind: "function-call", expected: (Array.isArray(expected) ? expected : [expected]) as never, partialCredit: false };
  }
  const reward = await scoreCompletion(spec, completion);
  return values.json ? JSON.stringify({ reward }) : String(reward);
}
