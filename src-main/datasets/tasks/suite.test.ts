import { describe, expect, it } from "vitest";
import { compactPrompt, judgmentPrompt, parseJudgment } from "../../curriculum/judgment-format.js";
import { scoreCompletion } from "../../rewards/score.js";
import { Rng } from "../../util/rng.js";
import { makeDefaultDatasets } from "../default-datasets.js";
import { TaskRowSchema } from "../task-row.js";
import { DIFFICULTIES, TASK_FAMILIES, generateSuite } from "./suite.js";

describe("synthetic task suite", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    expect(generateSuite(3, 2, "x")).toEqual(generateSuite(3, 2, "x"));
    expect(generateSuite(3, 2, "x")).not.toEqual(generateSuite(4, 2, "x"));
  });

  it("every family and difficulty: rows are valid, the reference scores 1, a wrong answer less", async () => {
    const rng = new Rng(11);
    for (const [family, make] of Object.entries(TASK_FAMILIES)) {
      for (const d of DIFFICULTIES) {
        for (let k = 0; k < 5; k++) {
          const row = make(rng, d, `${family}-${d}-${k}`);
          expect(TaskRowSchema.safeParse(row).success).toBe(true);
          expect(row.prompt.endsWith("A:")).toBe(true);
          expect(await scoreCompletion(row.reward, row.reference!), `${row.prompt}${row.reference}`).toBe(1);
          expect(await scoreCompletion(row.reward, " nonsense"), row.prompt).toBeLessThan(1);
        }
      }
    }
  });

  it("default splits: held-out prompts never appear in train", () => {
    const { train, test } = makeDefaultDatasets(7);
    const seen = new Set(train.map((r) => r.prompt));
    expect(test.filter((r) => seen.has(r.prompt))).toEqual([]);
    expect(new Set(test.map((r) => r.family))).toEqual(new Set(Object.keys(TASK_FAMILIES)));
  });
});

describe("judgment format", () => {
  it("lists recent items with their variance and ends where the prediction goes", () => {
    const p = judgmentPrompt([{ prompt: "Q: 1+2=?\nA:", variance: 0 }, { prompt: "Q: 12*7=?\nA:", variance: 0.1875 }], "Q: 5+5=?\nA:");
    expect(p).toBe("Judge variance.\nQ: 1+2=? => 0.00\nQ: 12*7=? => 0.19\nNew: Q: 5+5=?\nA:");
  });

  it("keeps the question of long multi-line prompts", () => {
    const c = compactPrompt("Tools: search(query); convert(amount,from,to); time(zone); weather(city)\nQ: weather in Oslo\nA:");
    expect(c.length).toBeLessThanOrEqual(64);
    expect(c.endsWith("/ Q: weather in Oslo")).toBe(true);
  });

  it("parses a predicted variance or reports none", () => {
    expect(parseJudgment(" 0.19")).toBe(0.19);
    expect(parseJudgment("0.25\nmore")).toBe(0.25);
    expect(parseJudgment(" maybe")).toBeNull();
    expect(parseJudgment("")).toBeNull();
    // Seen at step 1 of a default run (no examples yet): clamped to 0.25 it would rank first.
    expect(parseJudgment("  068")).toBeNull();
    expect(parseJudgment(" 1")).toBe(1);
  });
});
