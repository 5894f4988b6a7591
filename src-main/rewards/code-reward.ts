// Code rewards: the completion defines the entry point; hidden tests run against it in a sandbox
// process. Whatever the code does (loop, exhaust memory, crash its interpreter, try to escape), the
// outcome is this completion's score with a reason, never an error out of the reward.
import type { SandboxOutcome } from "../sandbox/sandbox-process.js";
import { DEFAULT_LIMITS, runInSandbox, type SandboxLimits } from "./js-sandbox.js";
import { runPython } from "./python-sandbox.js";

/** A score and, when it is not a pass, why. */
export interface ScoredCompletion {
  reward: number | null;
  reason?: string;
}

/** The code in a completion: a fenced block if there is one, else the text itself. */
export function extractCode(completion: string): string {
  const fenced = /```(?:\w+)?\n([\s\S]*?)```/.exec(completion);
  return (fenced ? fenced[1]! : completion).trim();
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The completion's score from a sandbox outcome: 1 on a pass, 0 when the code failed, null when the sandbox could not run it. */
function scoreOutcome(outcome: SandboxOutcome, passed: (value: unknown) => boolean): ScoredCompletion {
  if (outcome.ok) return passed(outcome.value) ? { reward: 1 } : { reward: 0, reason: "the tests did not pass" };
  if (outcome.kind === "unavailable") return { reward: null, reason: outcome.error };
  return { reward: 0, reason: `${outcome.kind}: ${outcome.error}` };
}

/**
 * 1 when the tests pass, 0 when they fail, throw, time out or run out of memory. A completion that is
 * a bare expression (e.g. an arrow function) is bound to `entryPoint`; one that declares it is run as is.
 */
export async function jsCodeRewardDetailed(completion: string, entryPoint: string, tests: string, limits: SandboxLimits = DEFAULT_LIMITS): Promise<ScoredCompletion> {
  if (!IDENTIFIER.test(entryPoint)) return { reward: null, reason: `the entry point ${JSON.stringify(entryPoint)} is not a JavaScript identifier` };
  const code = extractCode(completion);
  if (code === "") return { reward: 0, reason: "no code in the completion" };
  const name = entryPoint.replace(/\$/g, "\\$"); // `$` is legal in a JS identifier and special in a RegExp
  const declares = new RegExp(`\\b(function\\s+${name}\\b|(const|let|var)\\s+${name}\\b)`).test(code);
  const program = declares ? `${code}\n;${tests}\n;true` : `const ${entryPoint} = (${code});\n${tests}\n;true`;
  return scoreOutcome(await runInSandbox(program, limits), (value) => value === true);
}

/** {@link jsCodeRewardDetailed}'s score alone. */
export async function jsCodeReward(completion: string, entryPoint: string, tests: string, limits: SandboxLimits = DEFAULT_LIMITS): Promise<number | null> {
  return (await jsCodeRewardDetailed(completion, entryPoint, tests, limits)).reward;
}

/**
 * 1 when the Python tests pass, 0 otherwise. A completion that does not define the entry point is
 * taken as its body and put after `prelude` (HumanEval's format: prompt + completion).
 */
export async function pythonCodeRewardDetailed(completion: string, entryPoint: string, tests: string, prelude = "", timeoutMs = 10_000): Promise<ScoredCompletion> {
  if (!PYTHON_IDENTIFIER.test(entryPoint)) return { reward: null, reason: `the entry point ${JSON.stringify(entryPoint)} is not a Python identifier` };
  const fenced = /```(?:python|py)?\n([\s\S]*?)```/.exec(completion);
  const code = fenced ? fenced[1]! : completion;
  if (code.trim() === "") return { reward: 0, reason: "no code in the completion" };
  const defines = new RegExp(`^\\s*def\\s+${entryPoint}\\s*\\(`, "m").test(code);
  const program = `${defines ? code : prelude + code}\n\n${tests}\n`;
  return scoreOutcome(await runPython(program, timeoutMs), () => true);
}

/** {@link pythonCodeRewardDetailed}'s score alone. */
export async function pythonCodeReward(completion: string, entryPoint: string, tests: string, prelude = "", timeoutMs = 10_000): Promise<number | null> {
  return (await pythonCodeRewardDetailed(completion, entryPoint, tests, prelude, timeoutMs)).reward;
}
