// Host-side tensors for a policy update: sequences (prompt + completion) right-padded, next-token
// targets, and the mask that keeps prompt and padding positions out of the loss.
import type { HostTensor } from "../ort-session.js";
import { padBatch } from "./llama-batch.js";

/** One sequence: prompt tokens followed by completion tokens. */
export interface PolicySequence {
  tokens: readonly number[];
  /** Index in `tokens` of the first completion token (≥ 1: something must precede it). */
  completionStart: number;
}

/** Tensors of a batch, aligned on next-token positions: column t predicts tokens[t + 1]. */
export interface PolicyBatchTensors {
  tokens: HostTensor;
  attentionMask: HostTensor;
  targets: HostTensor;
  /** [B, T] float32: 1 where targets[t] is a completion token. */
  lossMask: HostTensor;
  width: number;
  /** For each sequence, the columns whose targets are completion tokens, in order. */
  completionColumns: number[][];
}

/** Build the aligned tensors; errors name the sequence. */
export function policyBatch(sequences: readonly PolicySequence[]): PolicyBatchTensors {
  sequences.forEach((s, i) => {
    if (s.completionStart < 1 || s.completionStart > s.tokens.length) {
      throw new Error(`sequence ${i}: completionStart ${s.completionStart} must be in 1..${s.tokens.length}`);
    }
  });
  const padded = padBatch(sequences.map((s) => s.tokens));
  const w = padded.width;
  const targets = new BigInt64Array(sequences.length * w);
  const mask = new Float32Array(sequences.length * w);
  const completionColumns = sequences.map((s, b) => {
    const cols: number[] = [];
    for (let t = 0; t + 1 < s.tokens.length; t++) {
      targets[b * w + t] = BigInt(s.tokens[t + 1]!);
      if (t + 1 >= s.completionStart) {
        mask[b * w + t] = 1;
        cols.push(t);
      }
    }
    return cols;
  });
  return {
    tokens: padded.tokens,
    attentionMask: padded.mask,
    targets: { dtype: "int64", dims: [sequences.length, w], data: targets },
    lossMask: { dtype: "float32", dims: [sequences.length, w], data: mask },
    width: w,
    completionColumns,
  };
}

/** Per-sequence completion values [B, T] → arrays in completion order. */
export function completionValues(values: ArrayLike<number>, batch: PolicyBatchTensors): number[][] {
  return batch.completionColumns.map((cols, b) => cols.map((t) => values[b * batch.width + t]!));
}

/** Per-sequence completion arrays → a [B, T] float32 tensor (0 elsewhere). */
export function alignCompletionValues(perSequence: readonly (readonly number[])[], batch: PolicyBatchTensors): HostTensor {
  const out = new Float32Array(batch.completionColumns.length * batch.width);
  batch.completionColumns.forEach((cols, b) => {
    const values = perSequence[b]!;
    if (values.length !== cols.length) throw new Error(`sequence ${b}: ${values.length} values for ${cols.length} completion tokens`);
    cols.forEach((t, k) => (out[b * batch.width + t] = values[k]!));
  });
  return { dtype: "float32", dims: [batch.completionColumns.length, batch.width], data: out };
}
