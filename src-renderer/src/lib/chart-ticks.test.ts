import { describe, expect, it } from "vitest";
import { formatTick, formatTicks, STEP_INCREMENTS } from "./chart-ticks";

describe("tick labels", () => {
  it("use as many decimals as the spacing needs", () => {
    expect(formatTicks([0, 0.2, 0.4, 0.6000000000000001])).toEqual(["0", "0.2", "0.4", "0.6"]);
    expect(formatTicks([0, 0.05, 0.1, 0.15])).toEqual(["0", "0.05", "0.1", "0.15"]);
    expect(formatTicks([10, 20, 30])).toEqual(["10", "20", "30"]);
    expect(formatTicks([0.075, 0.1, 0.125, 0.15])).toEqual(["0.075", "0.1", "0.125", "0.15"]);
    expect(formatTicks([2.5, 5, 7.5])).toEqual(["2.5", "5", "7.5"]);
  });

  it("write small values with an exponent", () => {
    expect(formatTicks([0.001, 0.0015, 0.002])).toEqual(["1e-3", "1.5e-3", "2e-3"]);
    expect(formatTick(0.0002, 0.0001)).toBe("2e-4");
  });

  it("shorten large values", () => {
    expect(formatTicks([0, 5000, 10000, 15000])).toEqual(["0", "5000", "10k", "15k"]);
    expect(formatTick(1_500_000, 500_000)).toBe("1.5M");
    expect(formatTick(12_500, 500)).toBe("12.5k");
  });

  it("print zero as 0 whatever float noise the tick arithmetic left", () => {
    expect(formatTick(1e-17, 0.1)).toBe("0");
    expect(formatTick(-0.2, 0.1)).toBe("-0.2");
  });

  it("offer whole steps only for the step axis", () => {
    for (const s of STEP_INCREMENTS) expect(Number.isInteger(s)).toBe(true);
  });
});
