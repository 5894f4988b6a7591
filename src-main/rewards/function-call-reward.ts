// Function calls scored as BFCL's AST checker does: the function name must match, every
// parameter given must be one of the allowed values, and every parameter whose allowed values
// do not include "" (BFCL's mark for optional) must be given. Strings compare case-insensitively
// after trimming; numbers numerically.

/** One call: a function name and its arguments. */
export interface FunctionCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** BFCL possible answers: {functionName: {param: [allowed values…]}}. */
export type PossibleAnswer = Record<string, Record<string, unknown[]>>;

/** Calls in a completion: JSON {"name", "arguments"|"parameters"}, a list of them, or BFCL's {name: {args}}. */
export function parseCalls(completion: string): FunctionCall[] | null {
  const start = completion.search(/[[{]/);
  if (start < 0) return null;
  // Try the longest balanced JSON prefix from the first bracket.
  for (let end = completion.length; end > start; end--) {
    const ch = completion[end - 1];
    if (ch !== "}" && ch !== "]") continue;
    try {
      const json = JSON.parse(completion.slice(start, end)) as unknown;
      return toCalls(json);
    } catch {
      /* shorter prefix next */
    }
  }
  return null;
}

function toCalls(json: unknown): FunctionCall[] | null {
  const list = Array.isArray(json) ? json : [json];
  const calls: FunctionCall[] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null) return null;
    const o = item as Record<string, unknown>;
    if (typeof o.name === "string") {
      const args = o.arguments ?? o.parameters ?? {};
      if (typeof args !== "object" || args === null) return null;
      calls.push({ name: o.name, arguments: args as Record<string, unknown> });
    } else {
      const keys = Object.keys(o);
      if (keys.length !== 1 || typeof o[keys[0]!] !== "object") return null;
      calls.push({ name: keys[0]!, arguments: o[keys[0]!] as Record<string, unknown> });
    }
  }
  return calls;
}

function sameValue(given: unknown, allowed: unknown): boolean {
  if (typeof allowed === "number" || typeof given === "number") return Number(given) === Number(allowed) && given !== "" && given !== null;
  if (typeof allowed === "string" && typeof given === "string") return given.trim().toLowerCase() === allowed.trim().toLowerCase();
  return JSON.stringify(given) === JSON.stringify(allowed);
}

/** How many of a call's checks pass (name, then each parameter) out of how many. */
function matchCall(call: FunctionCall, expected: PossibleAnswer): { passed: number; total: number } {
  const [name, params] = Object.entries(expected)[0]!;
  const total = 1 + Object.keys(params).length;
  if (call.name !== name) return { passed: 0, total };
  let passed = 1;
  for (const [param, allowed] of Object.entries(params)) {
    if (!(param in call.arguments)) {
      if (allowed.includes("")) passed++;
      continue;
    }
    if (allowed.some((a) => sameValue(call.arguments[param], a))) passed++;
  }
  // A parameter the answer does not know is an error, as in BFCL.
  const unknown = Object.keys(call.arguments).filter((k) => !(k in params)).length;
  return { passed: Math.max(0, passed - unknown), total };
}

/**
 * Score `completion` against the expected calls (in order for parallel calls, any order
 * accepted). Exact: 1 when every call matches fully, else 0. Partial: the fraction of checks passed.
 */
export function functionCallReward(completion: string, expected: readonly PossibleAnswer[], partialCredit: boolean): number {
  const calls = parseCalls(completion);
  if (!calls || calls.length === 0) return 0;
  const remaining = [...calls];
  let passed = 0, total = 0;
  for (const want of expected) {
    let best = { passed: 0, total: 1 + Object.keys(Object.values(want)[0] ?? {}).length }, bestIndex = -1;
    remaining.forEach((c, i) => {
      const m = matchCall(c, want);
      if (m.passed > best.passed) [best, bestIndex] = [m, i];
    });
    if (bestIndex >= 0) remaining.splice(bestIndex, 1);
    passed += best.passed;
    total += best.total;
  }
  total += remaining.length; // extra calls count against the completion
  if (partialCredit) return passed / total;
  return passed === total ? 1 : 0;
}
