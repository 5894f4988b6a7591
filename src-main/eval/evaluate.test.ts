import { describe, expect, it } from "vitest";
import { passes, passRateTable, summarize, type ItemResult } from "./evaluate.js";

const item = (family: string, difficulty: number, passRate: number): ItemResult => ({ id: `${family}-${difficulty}-${passRate}`, family, difficulty, samples: 8, passRate, meanReward: passRate, rewardVariance: passRate * (1 - passRate), unscorable: 0 });

describe("evaluation summaries", () => {
  it("a discrete reward passes only when right; a continuous one within 5 %", () => {
    expect(passes("math", 1)).toBe(true);
    expect(passes("function-call", 0.8)).toBe(false);
    expect(passes("continuous", 0.96)).toBe(true);
    expect(passes("continuous", 0.9)).toBe(false);
  });

  it("groups by family and difficulty, with the share of items strictly in between", () => {
    const cells = summarize([item("a", 1, 1), item("a", 1, 0.5), item("a", 2, 0), item("b", 1, 0.25), item("b", 1, 0.75)]);
    expect(cells.map((c) => [c.family, c.difficulty, c.items, c.passRate, c.inBetween])).toEqual([
      ["a", 1, 2, 0.75, 0.5],
      ["a", 2, 1, 0, 0],
      ["b", 1, 2, 0.5, 1],
    ]);
    expect(cells.map((c) => c.rewardVariance)).toEqual([(0 + 0.25) / 2, 0, (0.1875 + 0.1875) / 2]);
    const table = passRateTable({ items: [], cells, overall: { items: 5, passRate: 0, meanReward: 0, inBetween: 0, solved: 0, unsolved: 0 }, tokensPerSecond: 0 });
    expect(table.split("\n")[0]).toBe("| family | d1 | d2 |");
    expect(table).toContain("| a | 75 % (0.75) | 0 % (0.00) |");
  });
});
