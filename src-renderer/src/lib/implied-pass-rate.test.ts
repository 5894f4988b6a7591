import { describe, expect, it } from "vitest";
import { impliedPassRate } from "./implied-pass-rate";

describe("impliedPassRate", () => {
  it("inverts p(1 − p) on the lower half", () => {
    for (const p of [0, 0.1, 0.25, 0.4, 0.5]) expect(impliedPassRate(p * (1 - p))).toBeCloseTo(p);
  });

  it("clamps variances outside what a pass/fail reward can have", () => {
    expect(impliedPassRate(0.3)).toBe(0.5);
    expect(impliedPassRate(-0.01)).toBe(0);
  });
});
