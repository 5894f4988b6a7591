// Code: turn a spoken description into a JavaScript arrow function, checked by running hidden
// tests in the sandbox. Difficulty: number of operations.
import type { Rng } from "../../util/rng.js";
import type { TaskRow } from "../task-row.js";

const OPS: { word: (n: number) => string; code: (n: number) => string; apply: (x: number, n: number) => number }[] = [
  { word: (n) => `plus ${n}`, code: (n) => `+${n}`, apply: (x, n) => x + n },
  { word: (n) => `minus ${n}`, code: (n) => `-${n}`, apply: (x, n) => x - n },
  { word: (n) => `times ${n}`, code: (n) => `*${n}`, apply: (x, n) => x * n },
];

/** One code item: apply `difficulty` operations left to right to x. */
export function codeTask(rng: Rng, difficulty: number, id: string): TaskRow {
  const steps = Array.from({ length: difficulty }, () => ({ op: rng.pick(OPS), n: 1 + rng.int(9) }));
  // Parenthesise so left-to-right reading is what the code computes.
  let body = "x";
  steps.forEach((s, i) => (body = i === 0 || s.op.code(s.n).startsWith("*") === false ? `${body}${s.op.code(s.n)}` : `(${body})${s.op.code(s.n)}`));
  const inputs = [0, 1, 2, 5, -3, 10];
  const expected = inputs.map((x) => steps.reduce((v, s) => s.op.apply(v, s.n), x));
  const tests = inputs.map((x, i) => `if (f(${x}) !== ${expected[i]}) throw new Error("f(${x}) should be ${expected[i]}");`).join("\n");
  return {
    id,
    family: "code",
    difficulty,
    prompt: `Code: x ${steps.map((s) => s.op.word(s.n)).join(" then ")}\nA:`,
    reference: ` x=>${body}`,
    reward: { kind: "code", language: "javascript", entryPoint: "f", tests },
  };
}
