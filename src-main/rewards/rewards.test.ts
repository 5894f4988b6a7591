import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jsCodeReward } from "./code-reward.js";
import { continuousReward } from "./continuous-reward.js";
import { functionCallReward } from "./function-call-reward.js";
import { runInSandbox } from "./js-sandbox.js";
import { fixturePath } from "../testing/fixtures.js";
import { extractFinalAnswer, mathReward, parseNumber } from "./math-reward.js";

describe("math reward", () => {
  it.each([
    ["The answer is 42.", "42", 1],
    ["#### 1,234", "1234", 1],
    ["so we get \\boxed{\\frac{3}{4}} hmm \\boxed{0.75}", "3/4", 1],
    ["She pays $18 in total.", "18", 1],
    ["12 apples then 7 apples", "7", 1],
    ["It is -3.50", "-3.5", 1],
    ["It is 41", "42", 0],
    ["no idea", "42", 0],
    ["", "42", 0],
  ])("%j vs %s → %d", (completion, answer, reward) => {
    expect(mathReward(completion, answer)).toBe(reward);
  });

  // Answers as instruct models write them on GSM8K / MATH-style tasks, compared by value.
  it.each([
    ["so the answer is \\boxed{\\frac{1}{2}}", "0.5", 1],
    ["\\boxed{\\dfrac{3}{4}}", "3/4", 1],
    ["\\boxed{-\\frac{1}{2}}", "-0.5", 1],
    ["\\boxed{1\\frac{1}{2}}", "1.5", 1],
    ["\\boxed{12\\frac{1}{2}}", "12.5", 1],
    ["\\boxed{\\frac12}", "0.5", 1],
    ["\\boxed{2\\sqrt{3}}", String(2 * Math.sqrt(3)), 1],
    ["\\boxed{\\sqrt[3]{27}}", "3", 1],
    ["\\boxed{\\frac{\\sqrt{2}}{2}}", String(Math.SQRT1_2), 1],
    ["\\boxed{\\$1{,}234.50}", "1234.5", 1],
    ["The total is \\boxed{18 \\text{ dollars}}.", "18", 1],
    ["\\boxed{50\\%}", "50", 1],
    ["\\boxed{90^\\circ}", "90", 1],
    ["\\boxed{x = 5}", "5", 1],
    ["\\boxed{2.5 \\times 10^{3}}", "2500", 1],
    ["\\boxed{\\left(\\frac{2}{3}\\right)}", "2/3", 1],
    ["The answer is \\frac{1}{2}", "0.5", 1],
    ["\\boxed{\\frac{1}{3}}", "0.33", 0],
    ["\\boxed{\\frac{1}{0}}", "1", 0],
    ["\\boxed{\\text{no idea}}", "1", 0],
  ])("LaTeX %j vs %s → %d", (completion, answer, reward) => {
    expect(mathReward(completion, answer)).toBe(reward);
  });

  it("is null when the reference is not a number", () => {
    expect(mathReward("42", "forty-two")).toBeNull();
  });

  it("parses numbers as answers write them", () => {
    expect(parseNumber("$1,234,567.5")).toBe(1234567.5);
    expect(parseNumber("3 / 4")).toBe(0.75);
    expect(parseNumber("1/0")).toBeNull();
    expect(extractFinalAnswer("A: 5\nThe answer is: 7 cats")).toBe("7 cats");
  });

  it("GSM8K reference answers score 1 against their own final answer and 0 against another's", () => {
    const rows = readFileSync(fixturePath("gsm8k/test.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { answer: string });
    const finals = rows.map((r) => r.answer.split("####").at(-1)!.trim());
    let own = 0, other = 0;
    rows.forEach((r, i) => {
      own += mathReward(r.answer, finals[i]!) ?? 0;
      const j = finals.findIndex((f) => parseNumber(f) !== parseNumber(finals[i]!));
      other += mathReward(r.answer, finals[j]!) ?? 0;
    });
    expect(own).toBe(rows.length);
    expect(other).toBe(0);
  });
});

describe("continuous reward", () => {
  it("is 1 − relative error, floored at 0", () => {
    expect(continuousReward(" 1500", 1517, 1517)).toBeCloseTo(1 - 17 / 1517, 10);
    expect(continuousReward("1517", 1517, 1517)).toBe(1);
    expect(continuousReward("99999", 1517, 1517)).toBe(0);
    expect(continuousReward("about a thousand", 1517, 1517)).toBe(0);
  });
});

describe("function-call reward", () => {
  const expected = [{ convert: { amount: [12], from: ["USD"], to: ["EUR"], rounding: ["", 2] } }];
  it.each([
    ['{"name":"convert","arguments":{"amount":12,"from":"USD","to":"EUR"}}', 1, 1],
    ['{"name":"convert","arguments":{"amount":"12","from":"usd","to":"EUR","rounding":2}}', 1, 1],
    ['{"name":"convert","arguments":{"amount":12,"from":"USD","to":"GBP"}}', 0, 4 / 5],
    ['{"name":"weather","arguments":{"city":"Paris"}}', 0, 0],
    ['{"name":"convert","arguments":{"amount":12,"from":"USD","to":"EUR","fee":1}}', 0, 4 / 5],
    ['{"name":"convert","arguments":{"amount":12,"from":"USD"', 0, 0],
    ["I cannot do that", 0, 0],
  ])("%s → exact %d, partial %d", (completion, exact, partial) => {
    expect(functionCallReward(completion, expected, false)).toBe(exact);
    expect(functionCallReward(completion, expected, true)).toBeCloseTo(partial, 10);
  });

  it("accepts BFCL's {name: {args}} form and text around the JSON", () => {
    expect(functionCallReward('Sure! {"convert": {"amount": 12, "from": "USD", "to": "EUR"}} done', expected, false)).toBe(1);
  });
});

describe("code reward in the QuickJS sandbox", () => {
  const tests = 'if (f(2) !== 7) throw new Error("f(2)");\nif (f(-1) !== -2) throw new Error("f(-1)");';
  it.each([
    ["x=>x*3+1", 1],
    ["function f(x) { return 3 * x + 1; }", 1],
    ["```js\nconst f = (x) => x * 3 + 1;\n```", 1],
    ["x=>x*3", 0],
    ["x=>", 0],
    ["", 0],
  ])("%j → %d", async (completion, reward) => {
    expect(await jsCodeReward(completion, "f", tests)).toBe(reward);
  });

  it("stops infinite loops, memory hogs, and has no Node or network", async () => {
    expect(await jsCodeReward("x=>{ for(;;){} }", "f", tests, { timeoutMs: 100, memoryBytes: 8 * 2 ** 20 })).toBe(0);
    const hog = await runInSandbox("const a = []; for (;;) a.push(new Array(1e5).fill(1));", { timeoutMs: 5000, memoryBytes: 8 * 2 ** 20 });
    expect(hog.ok).toBe(false);
    for (const probe of ["typeof require", "typeof process", "typeof fetch", "typeof XMLHttpRequest"]) {
      const r = await runInSandbox(probe);
      expect(r).toEqual({ ok: true, value: "undefined" });
    }
  });
});

describe("function-call reward on BFCL ground truths", () => {
  const read = (name: string) =>
    readFileSync(fixturePath(`bfcl/${name}`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { ground_truth: Record<string, Record<string, unknown[]>>[] });
  /** A call built from the first allowed value of each parameter (skipping optional ones). */
  const callOf = (gt: Record<string, Record<string, unknown[]>>) => {
    const [name, params] = Object.entries(gt)[0]!;
    return { name, arguments: Object.fromEntries(Object.entries(params).filter(([, v]) => v[0] !== "").map(([k, v]) => [k, v[0]])) };
  };
  const perturb = (v: unknown): unknown => (typeof v === "number" ? v + 1 : typeof v === "string" ? `${v}x` : Array.isArray(v) ? [...v, 0] : typeof v === "boolean" ? !v : { changed: true });

  it.each(["BFCL_v4_simple_python.answer.json", "BFCL_v4_multiple.answer.json", "BFCL_v4_parallel.answer.json"])("%s: ground truths match, perturbed calls do not", (file) => {
    let checked = 0;
    for (const row of read(file)) {
      const calls = row.ground_truth.map(callOf);
      expect(functionCallReward(JSON.stringify(calls), row.ground_truth, false)).toBe(1);
      const target = calls.find((c) => Object.keys(c.arguments).length > 0);
      if (!target) continue;
      const key = Object.keys(target.arguments)[0]!;
      const broken = calls.map((c) => (c === target ? { ...c, arguments: { ...c.arguments, [key]: perturb(c.arguments[key]) } } : c));
      expect(functionCallReward(JSON.stringify(broken), row.ground_truth, false), JSON.stringify(broken)).toBe(0);
      expect(functionCallReward(JSON.stringify(calls.map((c) => ({ ...c, name: `${c.name}_x` }))), row.ground_truth, false)).toBe(0);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });
});
