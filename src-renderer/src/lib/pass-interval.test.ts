import { describe, expect, it } from "vitest";
import { formatPassRate, wilsonInterval } from "./pass-interval";
import { passRateStdError } from "../../../src-main/protocol/run-progress";

describe("wilsonInterval", () => {
  it("is not empty at 0 % and 100 %, where the binomial s.e. is 0", () => {
    expect(passRateStdError(0, 5, 2)).toBe(0); // what read "± 0"
    const [lo0, hi0] = wilsonInterval(0, 10);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(1 / 11, 6); // z = 1: z²/(n + z²)
    const [lo1, hi1] = wilsonInterval(1, 10);
    expect(hi1).toBe(1);
    expect(lo1).toBeCloseTo(10 / 11, 6);
  });
  it("is close to ± 1 s.e. in between, and narrows with n", () => {
    const [lo, hi] = wilsonInterval(0.5, 400);
    expect((hi - lo) / 2).toBeCloseTo(passRateStdError(0.5, 400, 1), 3);
    expect(wilsonInterval(0.3, 1000)[1] - wilsonInterval(0.3, 1000)[0]).toBeLessThan(wilsonInterval(0.3, 10)[1] - wilsonInterval(0.3, 10)[0]);
  });
  it("says nothing is known with no samples", () => {
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
  });
});

describe("formatPassRate", () => {
  it("never shows ± 0 at the ends", () => {
    expect(formatPassRate(0, 10)).toBe("0 % (0–9 %)");
    expect(formatPassRate(1, 10)).toBe("100 % (91–100 %)");
    expect(formatPassRate(0, 10)).not.toMatch(/± 0/);
  });
  it("shows ± in between", () => {
    expect(formatPassRate(0.25, 32 * 4)).toMatch(/^25 % ± [3-5]$/);
  });
});
