import { describe, expect, it } from "vitest";
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from "./half.js";

describe("IEEE half precision", () => {
  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3555, 0.333251953125],
    [0x8000, -0],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])("bits %s decode to %s", (bits, value) => {
    expect(Object.is(halfToFloat(bits), value)).toBe(true);
    expect(floatToHalf(value)).toBe(bits);
  });

  it("decodes NaN", () => {
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(floatToHalf(NaN))).toBeNaN();
  });

  it("round-trips every finite half exactly", () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(floatToHalf(halfToFloat(h))).toBe(h);
    }
  });

  it("rounds to nearest even and overflows to infinity", () => {
    // 1 + 2^-11 lies exactly between 1 and the next half 1 + 2^-10: ties go to the even mantissa.
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(70000)).toBe(0x7c00);
    expect(floatToHalf(2 ** -26)).toBe(0);
  });
});

describe("bfloat16", () => {
  it.each([
    [0x3f80, 1],
    [0xc000, -2],
    [0x4049, 3.140625],
    [0x7f80, Infinity],
  ])("bits %s decode to %s", (bits, value) => {
    expect(bf16ToFloat(bits)).toBe(value);
    expect(floatToBf16(value)).toBe(bits);
  });

  it("rounds to nearest even", () => {
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});
