// User-written reward functions: JavaScript source defining `reward(completion, row)` that returns
// a number or null (unscorable), run in the QuickJS sandbox like any generated code.
import { DEFAULT_LIMITS, runInSandbox, type SandboxLimits } from "./js-sandbox.js";

/** Run the user's `reward` on one completion. Errors say what the function did wrong. */
export async function userJsReward(source: string, completion: string, row: unknown, limits: SandboxLimits = DEFAULT_LIMITS): Promise<number | null> {
  const program = `${source}
;(function () {
  if (typeof reward !== "function") throw new Error("the reward file must define function reward(completion, row)");
  const r = reward(${JSON.stringify(completion)}, ${JSON.stringify(row ?? null)});
  if (r === null) return null;
  if (typeof r !== "number" || !Number.isFinite(r)) throw new Error("reward() must return a finite number or null, returned " + String(r));
  return r;
})()`;
  const result = await runInSandbox(program, limits);
  if (!result.ok) throw new Error(`user reward failed: ${result.error}`);
  // The value comes back from the sandbox: check it again here rather than trust the code that ran there.
  if (result.value === null || (typeof result.value === "number" && Number.isFinite(result.value))) return result.value;
  throw new Error("user reward failed: reward() must return a finite number or null");
}
