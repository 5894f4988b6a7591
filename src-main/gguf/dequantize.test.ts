// Blocks are packed here from chosen integer codes, following the layouts in ggml-common.h,
// and the expected floats come from the per-element formulas — not from the decoder's loops.
import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import { GgmlType } from "./constants.js";
import { dequantize, encodeTensor } from "./dequantize.js";
import { floatToHalf } from "./half.js";

const rng = new Rng(7);
const halfBytes = (x: number): [number, number] => {
  const h = floatToHalf(x);
  return [h & 0xff, h >> 8];
};

describe("dequantize", () => {
  it("Q8_0: x = d · q", () => {
    const d = 0.125;
    const q = Array.from({ length: 32 }, () => rng.int(256) - 128);
    const bytes = Uint8Array.from([...halfBytes(d), ...q.map((v) => v & 0xff)]);
    expect(Array.from(dequantize(GgmlType.Q8_0, bytes, 32))).toEqual(q.map((v) => d * v));
  });

  it("Q4_0: x = d · (q − 8), element j in the low nibble of byte j, j+16 in its high nibble", () => {
    const d = -0.5;
    const q = Array.from({ length: 32 }, () => rng.int(16));
    const packed = Array.from({ length: 16 }, (_, j) => q[j]! | (q[j + 16]! << 4));
    const bytes = Uint8Array.from([...halfBytes(d), ...packed]);
    expect(Array.from(dequantize(GgmlType.Q4_0, bytes, 32))).toEqual(q.map((v) => d * (v - 8)));
  });

  it("Q4_K: x = d · sc[s] · q − dmin · m[s] with 6-bit scales packed in 12 bytes", () => {
    const d = 0.25, dmin = 0.0625;
    const sc = Array.from({ length: 8 }, () => rng.int(64));
    const m = Array.from({ length: 8 }, () => rng.int(64));
    // Sub-blocks 0..3 keep their 6 bits in bytes 0..3 (scales) and 4..7 (mins); sub-blocks 4..7
    // keep their low 4 bits in bytes 8..11 and their top 2 bits in the top of bytes 0..7.
    const scales = new Array<number>(12).fill(0);
    for (let s = 0; s < 4; s++) {
      scales[s] = (sc[s]! & 63) | ((sc[s + 4]! >> 4) << 6);
      scales[s + 4] = (m[s]! & 63) | ((m[s + 4]! >> 4) << 6);
      scales[s + 8] = (sc[s + 4]! & 0xf) | ((m[s + 4]! & 0xf) << 4);
    }
    const q = Array.from({ length: 256 }, () => rng.int(16));
    // Each 64-element chunk c uses 32 bytes: elements c·64+l in low nibbles, c·64+32+l in high.
    const qs = new Array<number>(128).fill(0);
    for (let i = 0; i < 256; i++) {
      const chunk = Math.floor(i / 64), within = i % 64;
      const byte = chunk * 32 + (within % 32);
      qs[byte]! |= within < 32 ? q[i]! : q[i]! << 4;
    }
    const bytes = Uint8Array.from([...halfBytes(d), ...halfBytes(dmin), ...scales, ...qs]);
    const expected = q.map((v, i) => d * sc[Math.floor(i / 32)]! * v - dmin * m[Math.floor(i / 32)]!);
    expect(Array.from(dequantize(GgmlType.Q4_K, bytes, 256))).toEqual(expected);
  });

  it("Q6_K: x = d · scale[k] · (q − 32) with q split into 4 low and 2 high bits", () => {
    const d = 0.03125;
    const scales = Array.from({ length: 16 }, () => rng.int(256) - 128);
    const q = Array.from({ length: 256 }, () => rng.int(64));
    const ql = new Array<number>(128).fill(0);
    const qh = new Array<number>(64).fill(0);
    const scaleOf: number[] = [];
    for (let i = 0; i < 256; i++) {
      const half = Math.floor(i / 128), r = i % 128, quarter = Math.floor(r / 32), l = r % 32;
      // Quarters 0,1 take low nibbles of ql[l], ql[l+32]; quarters 2,3 take their high nibbles.
      const lowByte = half * 64 + l + (quarter % 2 === 1 ? 32 : 0);
      ql[lowByte]! |= quarter < 2 ? q[i]! & 0xf : (q[i]! & 0xf) << 4;
      qh[half * 32 + l]! |= (q[i]! >> 4) << (2 * quarter);
      scaleOf.push(scales[half * 8 + Math.floor(l / 16) + 2 * quarter]!);
    }
    const bytes = Uint8Array.from([...ql, ...qh, ...scales.map((s) => s & 0xff), ...halfBytes(d)]);
    const expected = q.map((v, i) => d * scaleOf[i]! * (v - 32));
    expect(Array.from(dequantize(GgmlType.Q6_K, bytes, 256))).toEqual(expected);
  });

  it("F16 and BF16 from their bit patterns", () => {
    expect(Array.from(dequantize(GgmlType.F16, Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]), 3))).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(dequantize(GgmlType.BF16, Uint8Array.from([0x80, 0x3f, 0x49, 0x40]), 2))).toEqual([1, 3.140625]);
  });

  it("decodes several blocks in sequence", () => {
    const blocks = [0.5, 2].map((d, b) => [...halfBytes(d), ...Array.from({ length: 32 }, (_, j) => (j + b) & 0xff)]);
    const out = dequantize(GgmlType.Q8_0, Uint8Array.from(blocks.flat()), 64);
    expect(out[33]).toBe(2 * 2);
    expect(out[31]).toBe(0.5 * 31);
  });
});

describe("Q4_K encoding", () => {
  it("decodes back within half a quantization step of every sub-block, whatever its range", () => {
    const rng = new Rng(9);
    // Sub-blocks of different spreads and offsets, an all-positive one, and a constant one.
    const values = new Float32Array(512).map((_, i) => {
      const sub = Math.floor(i / 32);
      if (sub === 3) return 0.25;
      if (sub === 5) return 1 + Math.abs(rng.normal());
      return rng.normal() * (0.01 + sub * 0.3);
    });
    const bytes = encodeTensor(GgmlType.Q4_K, values);
    expect(bytes.length).toBe(2 * 144);
    const back = dequantize(GgmlType.Q4_K, bytes, 512);
    const rangeOf = (sub: number): { range: number; min: number } => {
      const x = values.subarray(sub * 32, sub * 32 + 32);
      return { range: Math.max(...x) - Math.min(0, ...x), min: -Math.min(0, ...x) };
    };
    for (let sub = 0; sub < 16; sub++) {
      // The super-block's 6-bit scale units: a sub-block's step is at most its range / 15 plus one unit.
      const block = Array.from({ length: 8 }, (_, k) => rangeOf(Math.floor(sub / 8) * 8 + k));
      const d = Math.max(...block.map((b) => b.range / 15)) / 63;
      const dmin = Math.max(...block.map((b) => b.min)) / 63;
      const bound = (rangeOf(sub).range / 15 + d) / 2 + dmin / 2 + 1e-3 * (d + dmin) * 63;
      for (let l = 0; l < 32; l++) expect(Math.abs(back[sub * 32 + l]! - values[sub * 32 + l]!)).toBeLessThanOrEqual(bound);
    }
    expect(() => encodeTensor(GgmlType.Q4_K, new Float32Array(100))).toThrow(/multiple of 256/);
  });
});
