// The shipped model: loads in llama.cpp and answers in every task format, and in the judgment format.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { judgmentPrompt, parseJudgment } from "../curriculum/judgment-format.js";
import { readTaskRows } from "../datasets/default-datasets.js";
import { parseCalls } from "../rewards/function-call-reward.js";
import { runInSandbox } from "../rewards/js-sandbox.js";
import { extractFinalAnswer, parseNumber } from "../rewards/math-reward.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const MODEL = root("resources/models/metis-tiny.gguf");
const TEST = root("resources/datasets/synthetic-test.jsonl");

describe("the built-in model", () => {
  it("is shipped, small, and answers each family in its format", async () => {
    expect(existsSync(MODEL)).toBe(true);
    const rows = readTaskRows(TEST);
    const engine = await RolloutEngine.load({ modelPath: MODEL });
    try {
      const easy = (family: string) => rows.find((r) => r.family === family && r.difficulty === 1)!;
      const greedy = async (prompt: string): Promise<string> => (await engine.generate([prompt], 1, { temperature: 0, maxTokens: 96 })).completions[0]![0]!.text;
      expect(parseNumber(extractFinalAnswer(await greedy(easy("arithmetic").prompt)) ?? "")).not.toBeNull();
      expect(parseNumber(extractFinalAnswer(await greedy(easy("estimation").prompt)) ?? "")).not.toBeNull();
      expect(parseCalls(await greedy(easy("function-call").prompt))).not.toBeNull();
      const code = await greedy(easy("code").prompt);
      expect((await runInSandbox(`const f = (${code.trim()}); typeof f`)).ok).toBe(true);
      const judgment = judgmentPrompt(rows.slice(0, 3).map((r, i) => ({ prompt: r.prompt, variance: 0.05 * i })), rows[3]!.prompt);
      expect(parseJudgment(await greedy(judgment))).not.toBeNull();
    } finally {
      await engine.dispose();
    }
  });
});
