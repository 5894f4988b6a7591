import { describe, expect, it } from "vitest";
import { COSINE_FLOOR, learningRateAt } from "./lr-schedule.js";

describe("learning-rate schedule", () => {
  it("cosine: the configured rate at the first step, a tenth at the last, half-way between at the middle, never rising", () => {
    expect(learningRateAt("cosine", 2e-3, 1, 101)).toBeCloseTo(2e-3, 12);
    expect(learningRateAt("cosine", 2e-3, 51, 101)).toBeCloseTo(2e-3 * (COSINE_FLOOR + (1 - COSINE_FLOOR) / 2), 12);
    expect(learningRateAt("cosine", 2e-3, 101, 101)).toBeCloseTo(2e-4, 12);
    const rates = Array.from({ length: 101 }, (_, i) => learningRateAt("cosine", 2e-3, i + 1, 101));
    for (let i = 1; i < rates.length; i++) expect(rates[i]!).toBeLessThanOrEqual(rates[i - 1]!);
    // Past the end (a run extended on resume before its config says so) it stays at the floor.
    expect(learningRateAt("cosine", 2e-3, 150, 101)).toBeCloseTo(2e-4, 12);
  });

  it("constant, and runs of one step, keep the configured rate", () => {
    expect(learningRateAt("constant", 2e-3, 80, 100)).toBe(2e-3);
    expect(learningRateAt("cosine", 2e-3, 1, 1)).toBe(2e-3);
  });
});
