// The dataset row every source is normalised to: the synthetic task families write it directly,
// imported files are mapped onto it. The reward spec says how a completion is scored.
import { z } from "zod";

/** How a completion is scored. */
export const RewardSpecSchema = z.discriminatedUnion("kind", [
  /** Final numeric answer compared with `answer` (numbers, fractions, thousands separators). */
  z.object({ kind: z.literal("math"), answer: z.string() }),
  /** JavaScript run in a sandbox: `tests` is code that calls `entryPoint` and throws on failure. */
  z.object({
    kind: z.literal("code"),
    language: z.enum(["javascript", "python"]),
    entryPoint: z.string(),
    tests: z.string(),
    /** Put before a completion that does not define the entry point (HumanEval: the prompt's signature and docstring). */
    prelude: z.string().optional(),
  }),
  /**
   * One function call as JSON {"name", "arguments"}; `expected` in BFCL's possible-answer form:
   * {name: {param: [allowed values…]}} ("" among the values marks the parameter optional).
   */
  z.object({ kind: z.literal("function-call"), expected: z.array(z.record(z.string(), z.record(z.string(), z.array(z.unknown())))), partialCredit: z.boolean().default(false) }),
  /** 1 − |prediction − target| / scale, floored at 0. */
  z.object({ kind: z.literal("continuous"), target: z.number(), scale: z.number().positive() }),
]);
export type RewardSpec = z.infer<typeof RewardSpecSchema>;

/** One prompt with what scores its completions. */
export const TaskRowSchema = z.object({
  id: z.string().min(1),
  prompt: z.string().min(1),
  /** A correct completion, when one is known (used for SFT and shown in the UI). */
  reference: z.string().optional(),
  reward: RewardSpecSchema,
  family: z.string().optional(),
  /** 1 (easiest) … 5 (hardest) for the synthetic families. */
  difficulty: z.number().int().min(1).max(5).optional(),
});
export type TaskRow = z.infer<typeof TaskRowSchema>;

/** A row's (family, difficulty) cell as a key: rows of one cell are alike to a curriculum. */
export function cellKey(row: Pick<TaskRow, "family" | "difficulty">): string {
  return `${row.family ?? ""}/${row.difficulty ?? ""}`;
}
