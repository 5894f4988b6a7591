// Host-side batch tensors for the llama graph: right-padded tokens, RoPE tables, attention masks.
import type { HostTensor } from "../ort-session.js";
import type { LlamaConfig } from "./llama-config.js";

/** RoPE tables [T, headDim/2] as llama.cpp computes the angles: pos / scale · base^(−2i/D) / freqFactor[i]. */
export function llamaRopeTables(c: LlamaConfig, positions: number, freqFactors: Float32Array | null = null): { cos: HostTensor; sin: HostTensor } {
  const half = c.headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = ((p / c.ropeLinearScale) * c.ropeBase ** ((-2 * i) / c.headDim)) / (freqFactors ? freqFactors[i]! : 1);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos: { dtype: "float32", dims: [positions, half], data: cos }, sin: { dtype: "float32", dims: [positions, half], data: sin } };
}

/** A right-padded batch of token sequences. */
export interface PaddedBatch {
  tokens: HostTensor;
  /** [B, 1, T, T] additive causal + padding mask. */
  mask: HostTensor;
  lengths: number[];
  width: number;
}

/** Pad `sequences` on the right with `padToken` to the longest length. */
export function padBatch(sequences: readonly (readonly number[])[], padToken = 0): PaddedBatch {
  const lengths = sequences.map((s) => s.length);
  if (lengths.some((n) => n === 0)) throw new Error("every sequence needs at least one token");
  const width = Math.max(...lengths);
  const b = sequences.length;
  const tokens = new BigInt64Array(b * width).fill(BigInt(padToken));
  const mask = new Float32Array(b * width * width);
  sequences.forEach((s, i) => {
    s.forEach((t, j) => (tokens[i * width + j] = BigInt(t)));
    for (let q = 0; q < width; q++) {
      for (let k = 0; k < width; k++) if (k > q || k >= s.length) mask[(i * width + q) * width + k] = -1e9;
    }
  });
  return { tokens: { dtype: "int64", dims: [b, width], data: tokens }, mask: { dtype: "float32", dims: [b, 1, width, width], data: mask }, lengths, width };
}
