import { describe, expect, it } from "vitest";
import { ranks, spearman } from "./stats.js";

describe("rank statistics", () => {
  it("ranks with ties averaged", () => {
    expect(ranks([10, 30, 20, 30])).toEqual([1, 3.5, 2, 3.5]);
  });

  it("Spearman matches reference values (scipy.stats.spearmanr)", () => {
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 12);
    expect(spearman([0.1, 0.2, 0.05, 0.25], [0, 0.1875, 0, 0.25])).toBeCloseTo(0.9486832980505138, 12);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
  });

  it("is undefined for constant sides or fewer than three pairs", () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(spearman([1, 2], [1, 2])).toBeNull();
  });
});
