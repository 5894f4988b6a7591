// The synthetic task suite: every family, every difficulty, deterministic for a seed.
import { Rng } from "../../util/rng.js";
import type { TaskRow } from "../task-row.js";
import { arithmeticTask } from "./arithmetic.js";
import { codeTask } from "./code.js";
import { estimationTask } from "./estimation.js";
import { functionCallTask } from "./function-call.js";

/** Families by name: (rng, difficulty, id) → row. */
export const TASK_FAMILIES: Record<string, (rng: Rng, difficulty: number, id: string) => TaskRow> = {
  arithmetic: arithmeticTask,
  "function-call": (rng, d, id) => functionCallTask(rng, d, id, false),
  "function-call-partial": (rng, d, id) => functionCallTask(rng, d, id, true),
  code: codeTask,
  estimation: estimationTask,
};

export const DIFFICULTIES = [1, 2, 3, 4, 5] as const;

/** `perCell` items for each (family, difficulty), ids "<split>-<family>-<d>-<k>", shuffled. */
export function generateSuite(seed: number, perCell: number, split: string, families: readonly string[] = Object.keys(TASK_FAMILIES)): TaskRow[] {
  const rng = new Rng(seed);
  const rows: TaskRow[] = [];
  for (const family of families) {
    const make = TASK_FAMILIES[family];
    if (!make) throw new Error(`unknown task family "${family}" (known: ${Object.keys(TASK_FAMILIES).join(", ")})`);
    for (const d of DIFFICULTIES) for (let k = 0; k < perCell; k++) rows.push(make(rng, d, `${split}-${family}-${d}-${k}`));
  }
  return rng.shuffle(rows);
}

/** Rows whose prompt also appears in `seen` are dropped (held-out splits stay held out). */
export function withoutPrompts(rows: readonly TaskRow[], seen: ReadonlySet<string>): TaskRow[] {
  return rows.filter((r) => !seen.has(r.prompt));
}
