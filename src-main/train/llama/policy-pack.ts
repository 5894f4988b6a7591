// Prefix-tree packing: sequences that share prompt prefixes (a METIS step's judgment prompts share
// their instructions and examples; the J samples of one candidate share all of it) become one row
// in which each shared token appears once. Every position attends to its ancestors only and sits
// at its depth for RoPE, so each sequence's log-probs are exactly those of it alone.
import type { HostTensor } from "../ort-session.js";
import type { PolicyBatchTensors, PolicySequence } from "./policy-batch.js";

/**
 * The widest packed row by default. Its attention is width² (a dense mask, scores and their
 * gradients), so wide rows trade shared-prefix savings for quadratic work: on a real METIS
 * update (84 sequences, 13.9 k tokens) 512 took 1.1 s against 2.5 s at 2 048 on the built-in
 * model and 4.5 s against 8.2 s on a 768-wide one (scratch timing, 2-core VM; step-cost bench).
 */
export const MAX_PACKED_WIDTH = 512;

/** A packed row: the batch tensors (B = 1) plus each column's position. */
export interface PackedRow extends PolicyBatchTensors {
  /** Position (depth in the prefix tree) of each column, for the RoPE tables. */
  positions: number[];
}

interface TrieNode {
  token: number;
  column: number;
  children: Map<number, TrieNode>;
}

/**
 * Pack `sequences` into one row. The shared part of a sequence is its prompt without the last
 * token; its own branch is that last prompt token followed by its completion, so each column has
 * one next-token target even where prompts branch.
 */
export function packPrefixTree(sequences: readonly PolicySequence[]): PackedRow {
  const tokens: number[] = [];
  const positions: number[] = [];
  const parents: number[] = [];
  const root: TrieNode = { token: -1, column: -1, children: new Map() };
  const add = (token: number, parent: number, position: number): number => {
    tokens.push(token);
    positions.push(position);
    parents.push(parent);
    return tokens.length - 1;
  };
  const branches = sequences.map((s, i) => {
    if (s.completionStart < 1 || s.completionStart > s.tokens.length) throw new Error(`sequence ${i}: completionStart ${s.completionStart} must be in 1..${s.tokens.length}`);
    let node = root;
    for (let t = 0; t < s.completionStart - 1; t++) {
      const token = s.tokens[t]!;
      let child = node.children.get(token);
      if (!child) {
        child = { token, column: add(token, node.column, t), children: new Map() };
        node.children.set(token, child);
      }
      node = child;
    }
    const columns: number[] = [];
    let parent = node.column;
    for (let t = s.completionStart - 1; t < s.tokens.length; t++) {
      parent = add(s.tokens[t]!, parent, t);
      columns.push(parent);
    }
    return columns;
  });
  const w = tokens.length;
  const targets = new BigInt64Array(w);
  const lossMask = new Float32Array(w);
  const completionColumns = sequences.map((s, i) => {
    const own = branches[i]!;
    // Column k of the branch holds token completionStart − 1 + k and predicts the next one.
    for (let k = 0; k + 1 < own.length; k++) {
      targets[own[k]!] = BigInt(s.tokens[s.completionStart + k]!);
      lossMask[own[k]!] = 1;
    }
    return own.slice(0, -1);
  });
  // Additive mask: 0 where the key is the query itself or one of its ancestors.
  const mask = new Float32Array(w * w).fill(-1e9);
  for (let q = 0; q < w; q++) for (let k = q; k >= 0; k = parents[k]!) mask[q * w + k] = 0;
  const tensor = (dtype: HostTensor["dtype"], dims: number[], data: HostTensor["data"]): HostTensor => ({ dtype, dims, data }) as HostTensor;
  return {
    tokens: tensor("int64", [1, w], BigInt64Array.from(tokens, (t) => BigInt(t))),
    attentionMask: tensor("float32", [1, 1, w, w], mask),
    targets: tensor("int64", [1, w], targets),
    lossMask: tensor("float32", [1, w], lossMask),
    width: w,
    completionColumns,
    positions,
  };
}

/** Padded positions a plain batch of `sequences` would take: rows × longest. */
export function paddedSize(sequences: readonly PolicySequence[]): number {
  return sequences.length * Math.max(0, ...sequences.map((s) => s.tokens.length));
}

/** Per-sequence completion values read from a packed row's [1, T] output. */
export function packedValues(values: ArrayLike<number>, row: PackedRow): number[][] {
  return row.completionColumns.map((cols) => cols.map((c) => values[c]!));
}

/** Per-sequence completion arrays placed on a packed row's columns: a [1, T] tensor (0 elsewhere). */
export function alignPacked(perSequence: readonly (readonly number[])[], row: PackedRow): HostTensor {
  const out = new Float32Array(row.width);
  row.completionColumns.forEach((cols, s) => {
    const values = perSequence[s]!;
    if (values.length !== cols.length) throw new Error(`sequence ${s}: ${values.length} values for ${cols.length} completion tokens`);
    cols.forEach((c, k) => (out[c] = values[k]!));
  });
  return { dtype: "float32", dims: [1, row.width], data: out };
}
