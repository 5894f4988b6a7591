// Code rewards: the completion defines the entry point; hidden tests run against it in the sandbox.
import { DEFAULT_LIMITS, runInSandbox, type SandboxLimits } from "./js-sandbox.js";
import { runPython } from "./python-sandbox.js";

/** The code in a completion: a fenced block if there is one, else the text itself. */
export function extractCode(completion: string): string {
  const fenced = /```(?:\w+)?\n([\s\S]*?)```/.exec(completion);
  return (fenced ? fenced[1]! : completion).trim();
}

/**
 * 1 when the tests pass, 0 when they fail, throw, or time out. A completion that is a bare
 * expression (e.g. an arrow function) is bound to `entryPoint`; one that declares it is run as is.
 */
export async function jsCodeReward(completion: string, entryPoint: string, tests: string, limits: SandboxLimits = DEFAULT_LIMITS): Promise<number> {
  const code = extractCode(completion);
  if (code === "") return 0;
  const declares = new RegExp(`\\b(function\\s+${entryPoint}\\b|(const|let|var)\\s+${entryPoint}\\b)`).test(code);
  const program = declares ? `${code}\n;${tests}\n;true` : `const ${entryPoint} = (${code});\n${tests}\n;true`;
  const result = await runInSandbox(program, limits);
  return result.ok && result.value === true ? 1 : 0;
}

/**
 * 1 when the Python tests pass, 0 otherwise. A completion that does not define the entry point is
 * taken as its body and put after `prelude` (HumanEval's format: prompt + completion).
 */
export async function pythonCodeReward(completion: string, entryPoint: string, tests: string, prelude = "", timeoutMs = 10_000): Promise<number> {
  const fenced = /```(?:python|py)?\n([\s\S]*?)```/.exec(completion);
  const code = fenced ? fenced[1]! : completion;
  if (code.trim() === "") return 0;
  const defines = new RegExp(`^\\s*def\\s+${entryPoint}\\s*\\(`, "m").test(code);
  const program = `${defines ? code : prelude + code}\n\n${tests}\n`;
  const result = await runPython(program, timeoutMs);
  return result.ok ? 1 : 0;
}
