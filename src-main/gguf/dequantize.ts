// Dequantization to float32 of the tensor types common in published GGUF models, and the
// encoders the writer needs (F16, BF16, Q8_0). Block layouts follow ggml-common.h; the
// dequantize loops follow the reference (non-SIMD) code in ggml-quants.c.
import { GGML_BLOCK, GgmlType, ggmlTypeName } from "./constants.js";
import { GgufError } from "./errors.js";
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from "./half.js";

type Decoder = (src: DataView, out: Float32Array, blocks: number) => void;

const decoders: Partial<Record<number, Decoder>> = {
  [GgmlType.F32]: (src, out) => {
    for (let i = 0; i < out.length; i++) out[i] = src.getFloat32(i * 4, true);
  },
  [GgmlType.F16]: (src, out) => {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(src.getUint16(i * 2, true));
  },
  [GgmlType.BF16]: (src, out) => {
    for (let i = 0; i < out.length; i++) out[i] = bf16ToFloat(src.getUint16(i * 2, true));
  },
  // block_q8_0 { half d; int8 qs[32]; }: x = d * q
  [GgmlType.Q8_0]: (src, out, blocks) => {
    for (let b = 0; b < blocks; b++) {
      const o = b * 34;
      const d = halfToFloat(src.getUint16(o, true));
      for (let j = 0; j < 32; j++) out[b * 32 + j] = d * src.getInt8(o + 2 + j);
    }
  },
  // block_q4_0 { half d; uint8 qs[16]; }: low nibbles are elements 0..15, high nibbles 16..31, offset by 8
  [GgmlType.Q4_0]: (src, out, blocks) => {
    for (let b = 0; b < blocks; b++) {
      const o = b * 18;
      const d = halfToFloat(src.getUint16(o, true));
      for (let j = 0; j < 16; j++) {
        const q = src.getUint8(o + 2 + j);
        out[b * 32 + j] = ((q & 0xf) - 8) * d;
        out[b * 32 + j + 16] = ((q >> 4) - 8) * d;
      }
    }
  },
  // block_q4_K { half d; half dmin; uint8 scales[12]; uint8 qs[128]; }: 8 sub-blocks of 32 with 6-bit scales and mins
  [GgmlType.Q4_K]: (src, out, blocks) => {
    for (let b = 0; b < blocks; b++) {
      const o = b * 144;
      const d = halfToFloat(src.getUint16(o, true));
      const dmin = halfToFloat(src.getUint16(o + 2, true));
      const scales = o + 4;
      let q = o + 16;
      let y = b * 256;
      for (let j = 0; j < 256; j += 64) {
        const is = j / 32;
        const [sc1, m1] = scaleMinK4(src, scales, is);
        const [sc2, m2] = scaleMinK4(src, scales, is + 1);
        const d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
        for (let l = 0; l < 32; l++) out[y++] = d1 * (src.getUint8(q + l) & 0xf) - min1;
        for (let l = 0; l < 32; l++) out[y++] = d2 * (src.getUint8(q + l) >> 4) - min2;
        q += 32;
      }
    }
  },
  // block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; }: 6-bit values split in low 4 and high 2 bits
  [GgmlType.Q6_K]: (src, out, blocks) => {
    for (let b = 0; b < blocks; b++) {
      const o = b * 210;
      const d = halfToFloat(src.getUint16(o + 208, true));
      let ql = o, qh = o + 128, sc = o + 192, y = b * 256;
      for (let n = 0; n < 256; n += 128) {
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const h = src.getUint8(qh + l);
          const lo = src.getUint8(ql + l), hi = src.getUint8(ql + l + 32);
          const q1 = ((lo & 0xf) | ((h & 3) << 4)) - 32;
          const q2 = ((hi & 0xf) | (((h >> 2) & 3) << 4)) - 32;
          const q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
          const q4 = ((hi >> 4) | (((h >> 6) & 3) << 4)) - 32;
          out[y + l] = d * src.getInt8(sc + is) * q1;
          out[y + l + 32] = d * src.getInt8(sc + is + 2) * q2;
          out[y + l + 64] = d * src.getInt8(sc + is + 4) * q3;
          out[y + l + 96] = d * src.getInt8(sc + is + 6) * q4;
        }
        y += 128; ql += 64; qh += 32; sc += 8;
      }
    }
  },
};

/** The 6-bit scale and min of sub-block j packed in 12 bytes (ggml's get_scale_min_k4). */
function scaleMinK4(src: DataView, at: number, j: number): [number, number] {
  const s = (i: number): number => src.getUint8(at + i);
  if (j < 4) return [s(j) & 63, s(j + 4) & 63];
  return [(s(j + 4) & 0xf) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4)];
}

/** Types `dequantize` accepts. */
export const DEQUANTIZABLE_TYPES: readonly number[] = Object.keys(decoders).map(Number);

/** Decode `elements` values of ggml `type` from raw tensor bytes into float32. */
export function dequantize(type: number, bytes: Uint8Array, elements: number, where = "<tensor>"): Float32Array {
  const decode = decoders[type];
  const block = GGML_BLOCK[type];
  if (!decode || !block) {
    const known = DEQUANTIZABLE_TYPES.map(ggmlTypeName).join(", ");
    throw new GgufError(where, `cannot dequantize ${ggmlTypeName(type)} (supported: ${known})`);
  }
  if (elements % block.elements !== 0) throw new GgufError(where, `${elements} elements is not a whole number of ${ggmlTypeName(type)} blocks`);
  const blocks = elements / block.elements;
  if (bytes.length < blocks * block.bytes) throw new GgufError(where, `expected ${blocks * block.bytes} bytes of ${ggmlTypeName(type)} data, found ${bytes.length}`);
  const out = new Float32Array(elements);
  decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), out, blocks);
  return out;
}

/** Types `encodeTensor` writes. */
export const ENCODABLE_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K];

/** Encode float32 values as ggml `type` bytes (F32, F16, BF16, Q8_0 as ggml's reference quantizer does; Q4_K by min/max per sub-block). */
export function encodeTensor(type: number, values: Float32Array, where = "<tensor>"): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case GgmlType.F16:
    case GgmlType.BF16: {
      const out = new Uint16Array(values.length);
      const enc = type === GgmlType.F16 ? floatToHalf : floatToBf16;
      for (let i = 0; i < values.length; i++) out[i] = enc(values[i]!);
      return new Uint8Array(out.buffer);
    }
    case GgmlType.Q8_0:
      return quantizeQ8_0(values, where);
    case GgmlType.Q4_K:
      return quantizeQ4_K(values, where);
    default:
      throw new GgufError(where, `cannot encode ${ggmlTypeName(type)} (supported: ${ENCODABLE_TYPES.map(ggmlTypeName).join(", ")})`);
  }
}

// quantize_row_q8_0_ref: d = amax / 127, q = round(x / d).
function quantizeQ8_0(values: Float32Array, where: string): Uint8Array {
  if (values.length % 32 !== 0) throw new GgufError(where, `Q8_0 needs a multiple of 32 values, found ${values.length}`);
  const blocks = values.length / 32;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]!));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 34, floatToHalf(d), true);
    for (let j = 0; j < 32; j++) view.setInt8(b * 34 + 2 + j, roundHalfAway(values[b * 32 + j]! * id));
  }
  return out;
}

/**
 * Q4_K: per 256 values, 8 sub-blocks of 32, each x ≈ d·sc·q − dmin·m with q in 0..15 and 6-bit
 * sc, m. Each sub-block's scale and min come from its own range (ggml's reference quantizer also
 * searches for a better scale; the layout and the decoding are the same). Scales are quantized
 * against the f16-rounded d and dmin the file stores, so decoding uses exactly these values.
 */
function quantizeQ4_K(values: Float32Array, where: string): Uint8Array {
  if (values.length % 256 !== 0) throw new GgufError(where, `Q4_K needs a multiple of 256 values, found ${values.length}`);
  const blocks = values.length / 256;
  const out = new Uint8Array(blocks * 144);
  const view = new DataView(out.buffer);
  const scale = new Float64Array(8), mins = new Float64Array(8);
  const sc = new Uint8Array(8), mq = new Uint8Array(8);
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * 256, b * 256 + 256);
    for (let j = 0; j < 8; j++) {
      let lo = 0, hi = -Infinity;
      for (let l = 0; l < 32; l++) {
        lo = Math.min(lo, x[j * 32 + l]!);
        hi = Math.max(hi, x[j * 32 + l]!);
      }
      mins[j] = -lo; // ≥ 0: the sub-block's minimum, clamped at 0 as ggml does
      scale[j] = (hi - lo) / 15;
    }
    const d = halfToFloat(floatToHalf(Math.max(...scale) / 63));
    const dmin = halfToFloat(floatToHalf(Math.max(...mins) / 63));
    const o = b * 144;
    view.setUint16(o, floatToHalf(d), true);
    view.setUint16(o + 2, floatToHalf(dmin), true);
    for (let j = 0; j < 8; j++) {
      // Round the scale up so the sub-block's maximum stays within 15 steps.
      sc[j] = d > 0 ? Math.min(63, Math.ceil(scale[j]! / d - 1e-9)) : 0;
      mq[j] = dmin > 0 ? Math.min(63, Math.round(mins[j]! / dmin)) : 0;
    }
    // Pack 6-bit scales and mins as get_scale_min_k4 reads them.
    for (let j = 0; j < 4; j++) {
      out[o + 4 + j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
      out[o + 4 + j + 4] = (mq[j]! & 63) | ((mq[j + 4]! >> 4) << 6);
      out[o + 4 + j + 8] = (sc[j + 4]! & 0xf) | ((mq[j + 4]! & 0xf) << 4);
    }
    for (let j = 0; j < 8; j += 2) {
      const q = o + 16 + (j / 2) * 32;
      const level = (k: number, v: number): number => {
        const step = d * sc[k]!;
        return step > 0 ? Math.max(0, Math.min(15, Math.round((v + dmin * mq[k]!) / step))) : 0;
      };
      for (let l = 0; l < 32; l++) out[q + l] = level(j, x[j * 32 + l]!) | (level(j + 1, x[(j + 1) * 32 + l]!) << 4);
    }
  }
  return out;
}

// C's roundf rounds halves away from zero; Math.round does not for negatives.
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}
