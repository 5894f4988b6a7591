import { describe, expect, it } from "vitest";
import { compareReports, compareTable, CompareMismatchError } from "./compare.js";
import { summarize, type EvalReport, type ItemResult } from "./evaluate.js";

const item = (id: string, family: string, difficulty: number | null, passRate: number, meanReward = passRate): ItemResult => ({ id, family, difficulty, samples: 4, passRate, meanReward, rewardVariance: 0, unscorable: 0 });
const report = (items: ItemResult[]): EvalReport => ({ items, cells: summarize(items), overall: { items: items.length, passRate: 0, meanReward: 0, inBetween: 0, solved: 0, unsolved: 0 }, tokensPerSecond: 1 });

// Hand-made: arithmetic d1 goes 0.5, 0 → 1, 0.25; code d2 goes 1 → 0.75; arithmetic d2 stays 0.
const base = report([item("a1", "arithmetic", 1, 0.5), item("a2", "arithmetic", 1, 0), item("c1", "code", 2, 1, 0.9), item("a3", "arithmetic", 2, 0)]);
const adapter = report([item("c1", "code", 2, 0.75, 0.8), item("a3", "arithmetic", 2, 0), item("a2", "arithmetic", 1, 0.25), item("a1", "arithmetic", 1, 1)]);

describe("base-vs-adapter comparison", () => {
  it("pairs items by id and gives each cell's pass rates, difference, its standard error and items up / down", () => {
    const rows = compareReports(base, adapter);
    expect(rows.map((r) => [r.family, r.difficulty, r.items, r.base, r.adapter, r.delta, r.improved, r.regressed])).toEqual([
      ["arithmetic", 1, 2, 0.25, 0.625, 0.375, 2, 0],
      ["arithmetic", 2, 1, 0, 0, 0, 0, 0],
      ["code", 2, 1, 1, 0.75, -0.25, 0, 1],
      [null, null, 4, 0.375, 0.5, 0.125, 2, 1],
    ]);
    // arithmetic d1: differences 0.5 and 0.25, sample sd 0.1768, / √2 → 0.125.
    expect(rows[0]!.deltaStdErr).toBeCloseTo(0.125, 12);
    expect(rows[1]!.deltaStdErr).toBeNull();
    // overall: differences 0.5, 0.25, -0.25, 0 (mean 0.125); sample variance 0.3125 / 3; / 4 → se² = 0.3125 / 12.
    expect(rows[3]!.deltaStdErr).toBeCloseTo(Math.sqrt(0.3125 / 12), 12);
    expect(rows[2]).toMatchObject({ baseReward: 0.9, adapterReward: 0.8 });
  });

  it("renders a Markdown table with an overall row", () => {
    const table = compareTable(compareReports(base, adapter)).split("\n");
    expect(table[0]).toBe("| family | difficulty | items | base | adapter | Δ (points) | items ↑ / ↓ |");
    expect(table[2]).toBe("| arithmetic | d1 | 2 | 25.0 % | 62.5 % | +37.5 ± 12.5 | 2 / 0 |");
    expect(table[4]).toBe("| code | d2 | 1 | 100.0 % | 75.0 % | -25.0 | 0 / 1 |");
    expect(table.at(-1)).toMatch(/^\| all \| {2}\| 4 \| 37\.5 % \| 50\.0 % \| \+12\.5 ± 16\.1 \| 2 \/ 1 \|$/);
  });

  it("refuses reports over different items, naming the item", () => {
    const fewer = report(adapter.items.filter((i) => i.id !== "a2"));
    expect(() => compareReports(base, fewer)).toThrow(CompareMismatchError);
    expect(() => compareReports(base, fewer)).toThrow(/item "a2" was evaluated for the base model but not for the adapter/);
    expect(() => compareReports(fewer, adapter)).toThrow(/item "a2" was evaluated for the adapter but not for the base model/);
  });
});
