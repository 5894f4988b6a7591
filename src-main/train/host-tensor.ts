// Constructors for host tensors fed to sessions.
import type { HostTensor } from "./ort-session.js";

/** A float32 host tensor. */
export function f32(dims: readonly number[], data: ArrayLike<number>): HostTensor {
  return { dtype: "float32", dims, data: Float32Array.from(data) };
}

/** An int64 host tensor from numbers. */
export function i64(dims: readonly number[], data: ArrayLike<number>): HostTensor {
  return { dtype: "int64", dims, data: BigInt64Array.from(Array.from(data, (v) => BigInt(v))) };
}

/** RoPE tables [T, D/2] for positions 0..T-1: angle = pos · base^(−2i/D). */
export function ropeTables(positions: number, headDim: number, base: number): { cos: HostTensor; sin: HostTensor } {
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * base ** ((-2 * i) / headDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos: { dtype: "float32", dims: [positions, half], data: cos }, sin: { dtype: "float32", dims: [positions, half], data: sin } };
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above. */
export function causalMask(t: number): HostTensor {
  const data = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) data[i * t + j] = -1e9;
  return { dtype: "float32", dims: [t, t], data };
}
