// Numeric estimation with a continuous reward: 1 − relative error. Difficulty: operand size.
import type { Rng } from "../../util/rng.js";
import type { TaskRow } from "../task-row.js";

const DIGITS: Record<number, [number, number]> = { 1: [1, 2], 2: [2, 2], 3: [2, 3], 4: [3, 3], 5: [3, 4] };

/** One estimation item: the product of two numbers, scored by closeness. */
export function estimationTask(rng: Rng, difficulty: number, id: string): TaskRow {
  const [da, db] = DIGITS[difficulty] ?? DIGITS[5]!;
  const a = 10 ** (da - 1) + rng.int(9 * 10 ** (da - 1));
  const b = 10 ** (db - 1) + rng.int(9 * 10 ** (db - 1));
  const target = a * b;
  return { id, family: "estimation", difficulty, prompt: `Estimate: ${a}*${b}\nA:`, reference: ` ${target}`, reward: { kind: "continuous", target, scale: target } };
}
