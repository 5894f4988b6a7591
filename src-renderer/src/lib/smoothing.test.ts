import { describe, expect, it } from "vitest";
import { ema } from "./smoothing";

describe("ema", () => {
  it("leaves values as they are at weight 0", () => {
    expect(ema([3, 1, 4, 1, 5], 0)).toEqual([3, 1, 4, 1, 5]);
  });

  it("starts at the first value (debiased), then follows the recurrence", () => {
    const s = ema([10, 0, 0], 0.5);
    expect(s[0]).toBeCloseTo(10);
    // raw EMA 5, 2.5, 1.25 over 1 − 0.5^k: 5/0.5, 2.5/0.75, 1.25/0.875
    expect(s[1]).toBeCloseTo(2.5 / 0.75);
    expect(s[2]).toBeCloseTo(1.25 / 0.875);
  });

  it("keeps a constant series constant at any weight", () => {
    for (const w of [0.3, 0.9, 0.99]) for (const v of ema([2, 2, 2, 2], w)) expect(v).toBeCloseTo(2);
  });

  it("passes gaps through without resetting the average", () => {
    const s = ema([1, null, 3, Number.NaN, undefined], 0.5);
    expect(s[1]).toBeNull();
    expect(s[3]).toBeNull();
    expect(s[4]).toBeNull();
    expect(s[2]).toBeCloseTo((0.25 + 1.5) / 0.75);
  });

  it("refuses a weight outside [0, 1)", () => {
    expect(() => ema([1], 1)).toThrow(/\[0, 1\)/);
    expect(() => ema([1], -0.1)).toThrow(RangeError);
  });
});
