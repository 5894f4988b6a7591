// `metis score`: score one completion with a built-in reward.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { RewardSpec } from "../datasets/task-row.js";
import { scoreCompletionDetailed } from "../rewards/score.js";
import { userJsReward } from "../rewards/user-reward.js";
import { choiceOption, requiredOption, UsageError } from "./usage-error.js";

export const SCORE_USAGE =
  "metis score --reward math|code|fc|continuous|FILE.js --completion FILE|- [--answer TEXT] [--language javascript|python] [--entry-point NAME] [--json]";

/** Run `metis score`; returns the text to print. */
export async function scoreCommand(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, strict: true, options: { reward: { type: "string" }, completion: { type: "string" }, answer: { type: "string" }, "entry-point": { type: "string", default: "f" }, language: { type: "string", default: "javascript" }, json: { type: "boolean", default: false } } });
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
  } else if (kind === "code") {
    // Tests come in --answer: JavaScript that throws on failure, or Python that raises (e.g. asserts).
    const language = choiceOption("language", values.language, ["javascript", "python"] as const, "javascript");
    spec = { kind: "code", language, entryPoint: values["entry-point"], tests: answer };
  }
  else {
    let expected: unknown;
    try {
      expected = JSON.parse(answer);
    } catch {
      throw new UsageError("--answer must be BFCL ground truth JSON for a function-call reward, e.g. '[{\"f\": {\"x\": [1]}}]'");
    }
    spec = { kind: "function-call", expected: (Array.isArray(expected) ? expected : [expected]) as never, partialCredit: false };
  }
  const { reward, reason } = await scoreCompletionDetailed(spec, completion);
  if (values.json) return JSON.stringify(reason === undefined ? { reward } : { reward, reason });
  return reason === undefined ? String(reward) : `${reward} (${reason})`;
}
