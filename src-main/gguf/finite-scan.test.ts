import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../testing/temp-dir.js";
import { GGML_BLOCK, GgmlType, ggmlTypeName } from "./constants.js";
import { DEQUANTIZABLE_TYPES, dequantize } from "./dequantize.js";
import { NonFiniteTensorError, assertFiniteTensors } from "./finite-scan.js";
import { readGguf } from "./reader.js";
import { GgufWriter } from "./writer.js";

const tmp = useTempDir();
let files = 0;

/** Write one raw tensor of `type` as a GGUF file and scan it; returns the error or null. */
function scan(type: number, elements: number, bytes: Uint8Array): NonFiniteTensorError | null {
  const path = tmp.path(`t${files++}.gguf`);
  new GgufWriter(path).addRawTensor("w", [elements], type, bytes).write();
  try {
    assertFiniteTensors(readGguf(path));
    return null;
  } catch (e) {
    if (e instanceof NonFiniteTensorError) return e;
    throw e;
  }
}

// Half bit patterns: NaN, +Inf, -Inf, and ordinary values.
const HALF_SPECIALS = [0x7e00, 0x7c00, 0xfc00, 0x7c01];

describe("the non-finite scan agrees with dequantization", () => {
  it.each(DEQUANTIZABLE_TYPES.map((t) => [ggmlTypeName(t), t] as const))("%s: flagged exactly when a decoded value is NaN or infinite, at its block", (_name, type) => {
    const block = GGML_BLOCK[type]!;
    const blocks = 4;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: blocks * block.bytes, maxLength: blocks * block.bytes }), fc.array(fc.tuple(fc.nat(blocks * block.bytes - 2), fc.constantFrom(...HALF_SPECIALS)), { maxLength: 3 }), (bytes, specials) => {
        // Random bytes rarely form a NaN: plant special half values at random places.
        const view = new DataView(bytes.buffer);
        for (const [at, bits] of specials) view.setUint16(at, bits, true);
        const values = dequantize(type, bytes, blocks * block.elements);
        const firstBad = values.findIndex((x) => !Number.isFinite(x));
        const error = scan(type, blocks * block.elements, bytes);
        expect(error !== null, `decoded ${firstBad >= 0 ? "a non-finite value" : "finite values"}`).toBe(firstBad >= 0);
        if (error) expect(error.index).toBe(Math.floor(firstBad / block.elements)); // element for float types, block for quantized
      }),
      { numRuns: 60, seed: 7 },
    );
  });
});

describe("assertFiniteTensors", () => {
  it("reports the element index in a tensor larger than one read window", () => {
    const n = 3 << 20; // 12 MiB of F32: crosses the 8 MiB window
    const values = new Float32Array(n);
    values[n - 5] = Number.NEGATIVE_INFINITY;
    const error = scan(GgmlType.F32, n, new Uint8Array(values.buffer));
    expect(error?.message).toMatch(/tensor w holds a non-finite value \(-Infinity\) at element 3145723/);
  });

  it("checks the scales of quantized types it cannot decode (Q2_K d and dmin, Q8_K's float d, MXFP4's exponent, IQ1_M's packed d)", () => {
    const cases: { type: number; set: (v: DataView, block: number) => void }[] = [
      { type: GgmlType.Q2_K, set: (v, b) => v.setUint16(b * 84 + 82, 0x7c00, true) },
      { type: GgmlType.Q8_K, set: (v, b) => v.setFloat32(b * 292, Number.NaN, true) },
      { type: GgmlType.MXFP4, set: (v, b) => v.setUint8(b * 17, 0xff) },
      // d = 0x7c00 spread over the top nibbles of the four scales: 0x0, 0x0, 0xc, 0x7 (low to high).
      { type: GgmlType.IQ1_M, set: (v, b) => { v.setUint16(b * 56 + 52, 0xc000, true); v.setUint16(b * 56 + 54, 0x7000, true); } },
    ];
    for (const { type, set } of cases) {
      const block = GGML_BLOCK[type]!;
      const bytes = new Uint8Array(3 * block.bytes);
      expect(scan(type, 3 * block.elements, bytes), `${ggmlTypeName(type)} zeros`).toBeNull();
      set(new DataView(bytes.buffer), 2);
      const error = scan(type, 3 * block.elements, bytes);
      expect(error?.index, ggmlTypeName(type)).toBe(2);
      expect(error?.message).toMatch(/\(scale (NaN|Infinity)\) at block 2/);
    }
  });

  it("skips integer tensors", () => {
    expect(scan(GgmlType.I32, 4, new Uint8Array(Int32Array.of(0x7fc00000, -1, 0x7f800000, 0).buffer))).toBeNull();
  });
});
