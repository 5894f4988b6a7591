// Arithmetic with an exact numeric answer. Difficulty: number size and chain length.
import type { Rng } from "../../util/rng.js";
import type { TaskRow } from "../task-row.js";

const int = (rng: Rng, digits: number): number => (digits === 1 ? rng.int(10) : 10 ** (digits - 1) + rng.int(9 * 10 ** (digits - 1)));

/** One arithmetic item of `difficulty` 1–5. */
export function arithmeticTask(rng: Rng, difficulty: number, id: string): TaskRow {
  let expr: string;
  switch (difficulty) {
    case 1: expr = `${int(rng, 1)}+${int(rng, 1)}`; break;
    case 2: expr = rng.uniform() < 0.5 ? `${int(rng, 2)}+${int(rng, 1)}` : `${int(rng, 2)}-${int(rng, 1)}`; break;
    case 3: expr = rng.uniform() < 0.5 ? `${int(rng, 2)}+${int(rng, 2)}` : `${int(rng, 2)}*${int(rng, 1)}`; break;
    case 4: expr = rng.uniform() < 0.5 ? `${int(rng, 3)}+${int(rng, 3)}` : `${int(rng, 2)}+${int(rng, 2)}-${int(rng, 1)}`; break;
    default: expr = rng.uniform() < 0.5 ? `${int(rng, 2)}*${int(rng, 2)}` : `${int(rng, 4)}+${int(rng, 3)}`;
  }
  const answer = String(evaluate(expr));
  return { id, family: "arithmetic", difficulty, prompt: `Q: ${expr}=?\nA:`, reference: ` ${answer}`, reward: { kind: "math", answer } };
}

/** Evaluate + − × left to right with × first (the only operators generated). */
function evaluate(expr: string): number {
  return expr.split(/(?=[+-])/).reduce((sum, term) => {
    const sign = term.startsWith("-") ? -1 : 1;
    const product = term.replace(/^[+-]/, "").split("*").reduce((p, f) => p * Number(f), 1);
    return sum + sign * product;
  }, 0);
}
