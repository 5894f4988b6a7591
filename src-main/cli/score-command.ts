// `metis score`: score one completion with a built-in reward.
import { readFileSync } from "node:fs";
import type { RewardSpec } from "../datasets/task-row.js";
import { scoreCompletionDetailed } from "../rewards/score.js";
import { userJsReward } from "../rewards/user-reward.js";
import { choice, flag, parseCommand, str, type CommandSpec } from "./options.js";
import { choiceOption, requiredOption, UsageError } from "./usage-error.js";

const BUILT_IN = ["math", "code", "fc", "continuous"] as const;
const LANGUAGES = ["javascript", "python"] as const;

export const SCORE_COMMAND = {
  name: "score",
  summary: "score one completion with a built-in reward or your own reward(completion, row) in the sandbox",
  options: {
    reward: str("KIND|FILE.js", `a built-in reward (${BUILT_IN.join(", ")}), or a JS file defining reward(completion, row)`, { required: true }),
    completion: str("FILE|-", "the completion to score (- reads standard input)", { required: true }),
    answer: str("TEXT", "what the reward checks against: the answer (math), target (continuous), tests (code), BFCL ground truth JSON (fc); required for built-in rewards"),
    language: choice(LANGUAGES, "language of a code completion and its tests", { default: "javascript" }),
    "entry-point": str("NAME", "function the code tests call", { default: "f" }),
    json: flag("print {reward, reason} as JSON"),
  },
} satisfies CommandSpec;

/** Run `metis score`; returns the text to print. */
export async function scoreCommand(argv: string[]): Promise<string> {
  const { values } = parseCommand(SCORE_COMMAND, argv);
  const rewardOption = values.reward;
  const source = values.completion;
  const completion = source === "-" ? readFileSync(0, "utf8") : readFileSync(source, "utf8");
  if (rewardOption.endsWith(".js")) {
    const value = await userJsReward(readFileSync(rewardOption, "utf8"), completion, values.answer === undefined ? null : { answer: values.answer });
    return values.json ? JSON.stringify({ reward: value }) : String(value);
  }
  const kind = choiceOption("reward", rewardOption, BUILT_IN, "math");
  const answer = requiredOption("answer", values.answer);
  let spec: RewardSpec;
  if (kind === "math") spec = { kind: "math", answer };
  else if (kind === "continuous") {
    const target = Number(answer);
    if (!Number.isFinite(target)) throw new UsageError(`--answer must be a number for a continuous reward, found "${answer}"`);
    spec = { kind: "continuous", target, scale: Math.max(1, Math.abs(target)) };
  } else if (kind === "code") {
    // Tests come in --answer: JavaScript that throws on failure, or Python that raises (e.g. asserts).
    spec = { kind: "code", language: values.language, entryPoint: values["entry-point"], tests: answer };
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
