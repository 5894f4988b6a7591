// The forward graph of llama / qwen2 / qwen3 as llama.cpp computes it (llama.cpp src/models/*.cpp):
// embeddings → per block [RMSNorm → q,k,v (+bias) → (q/k RMSNorm) → RoPE → GQA causal attention
// → o] + residual → [RMSNorm → SwiGLU] + residual → RMSNorm → output head (or tied embedding).
import { attention, chunkedTokenLogProbs, rmsNorm, rope, silu } from "../composites.js";
import type { DType } from "../dtype.js";
import type { Graph, Tensor } from "../graph.js";
import * as o from "../ops.js";
import type { LlamaConfig } from "./llama-config.js";
import type { LoraTarget } from "./param-table.js";

/**
 * Where each weight comes from, as float32: a graph input (trainable or frozen float32), a
 * constant, or a frozen float16 input widened by a Cast (marked for recomputation).
 */
export type WeightSource = (name: string) => Tensor;
/** The LoRA pair (A [r, in], B [out, r]) for a projection base name, if it is adapted. */
export type LoraSource = (base: string) => { a: Tensor; b: Tensor } | null;

/** Inputs of a batch: right-padded tokens and their host-computed tables. */
export interface LlamaBatchInputs {
  /** [B, T] int64. */
  tokens: Tensor;
  /** [T, headDim/2]. */
  cos: Tensor;
  sin: Tensor;
  /** [B, 1, T, T] additive: 0 where a query may see a key, −1e9 elsewhere (causal and padding). */
  mask: Tensor;
}

/**
 * `f` (row selection: a slice, a gather) applied to weight `w`: before the float32 cast when `w`
 * is a widened float16 input, so only the rows taken are widened; the results are recomputed in
 * the backward pass rather than kept.
 */
function rowsOf(w: Tensor, f: (raw: Tensor) => Tensor): Tensor {
  const p = w.producer;
  if (p?.op === "Cast" && p.inputs[0]!.producer === null) return w.graph.recompute(o.cast(f(p.inputs[0]!), w.dtype));
  return f(w);
}

/** A block's weights by their name inside the block ("attn_q.weight", "ffn_norm.weight"). */
export type BlockWeightSource = (name: string) => Tensor;
/** A block's LoRA pair by projection name inside the block ("attn_q"), if it is adapted. */
export type BlockLoraSource = (name: string) => { a: Tensor; b: Tensor } | null;

/**
 * One transformer block: h + attention(norm(h)), then + SwiGLU(norm(·)). `loraScale` is
 * alpha / rank. With `recomputeWeights`, each Wᵀ is rebuilt in the backward pass (a transpose,
 * fused into the MatMul) instead of being kept from the forward.
 */
export function llamaBlock(c: LlamaConfig, weight: BlockWeightSource, lora: BlockLoraSource, loraScale: number, h: Tensor, x: Omit<LlamaBatchInputs, "tokens">, recomputeWeights = true): Tensor {
  const hd = c.headDim;
  // y = x Wᵀ (+ bias) (+ scale · x Aᵀ Bᵀ); W is [out, in] as GGUF stores it.
  const project = (input: Tensor, t: string, target: LoraTarget | null, bias: boolean): Tensor => {
    const w = weight(`${t}.weight`);
    const wT = o.transposeLast2(w);
    let y = o.matmul(input, recomputeWeights ? w.graph.recompute(wT) : wT);
    if (bias) y = o.add(y, weight(`${t}.bias`));
    const pair = target ? lora(t) : null;
    if (pair) y = o.add(y, o.mul(o.matmul(o.matmul(input, o.transposeLast2(pair.a)), o.transposeLast2(pair.b)), loraScale));
    return y;
  };
  const toHeads = [0, 2, 1, 3];
  const n = rmsNorm(h, weight("attn_norm.weight"), c.rmsEps);
  const bt = h.shape.slice(0, 2); // [B, T], symbolic or static
  let q = o.reshape(project(n, "attn_q", "q", c.qkvBias), [...bt, c.heads, hd]); // [B, T, H, hd]
  let k = o.reshape(project(n, "attn_k", "k", c.qkvBias), [...bt, c.kvHeads, hd]); // [B, T, Hkv, hd]
  const v = o.reshape(project(n, "attn_v", "v", c.qkvBias), [...bt, c.kvHeads, hd]);
  if (c.qkNorm) {
    q = rmsNorm(q, weight("attn_q_norm.weight"), c.rmsEps);
    k = rmsNorm(k, weight("attn_k_norm.weight"), c.rmsEps);
  }
  q = rope(q, x.cos, x.sin, c.ropeStyle);
  k = rope(k, x.cos, x.sin, c.ropeStyle);
  const att = attention(o.transpose(q, toHeads), o.transpose(k, toHeads), o.transpose(v, toHeads), x.mask); // [B, H, T, hd]
  const merged = o.reshape(o.transpose(att, toHeads), [...bt, c.heads * hd]); // [B, T, H·hd]
  const r = o.add(h, project(merged, "attn_output", "o", false));
  const m = rmsNorm(r, weight("ffn_norm.weight"), c.rmsEps);
  const act = o.mul(silu(project(m, "ffn_gate", "gate", false)), project(m, "ffn_up", "up", false)); // [B, T, F]
  return o.add(r, project(act, "ffn_down", "down", false));
}

/** The embedding rows of `x.tokens` [B, T, D] (only those rows widened when held as float16). */
export function llamaEmbed(weight: WeightSource, tokens: Tensor): Tensor {
  return rowsOf(weight("token_embd.weight"), (w) => o.gather(w, tokens, 0));
}

/**
 * The final hidden state [B, T, D] (after the output norm). `loraScale` is alpha / rank. With
 * `recomputeBlocks`, only each block's output (the residual stream) is kept for the backward
 * pass; everything inside a block is recomputed from its input there (activation checkpointing:
 * one more forward pass of compute, activations of one block alive instead of all of them).
 */
export function llamaHidden(c: LlamaConfig, weight: WeightSource, lora: LoraSource, loraScale: number, x: LlamaBatchInputs, recomputeBlocks = false, recomputeWeights = true): Tensor {
  let h = llamaEmbed(weight, x.tokens); // [B, T, D]
  const g = x.tokens.graph;
  for (let b = 0; b < c.layers; b++) {
    const first = g.nodes.length;
    h = llamaBlock(c, (n) => weight(`blk.${b}.${n}`), (n) => lora(`blk.${b}.${n}`), loraScale, h, x, recomputeWeights);
    if (recomputeBlocks) for (const node of g.nodes.slice(first, -1)) g.recompute(node.outputs[0]!);
  }
  return rmsNorm(h, weight("output_norm.weight"), c.rmsEps); // [B, T, D]
}

/** The output head's weight name (the token embedding when tied). */
export const headName = (c: LlamaConfig): string => (c.tiedEmbeddings ? "token_embd.weight" : "output.weight");

/** Logits [B, T, V] of the model. `loraScale` is alpha / rank. */
export function llamaLogits(c: LlamaConfig, weight: WeightSource, lora: LoraSource, loraScale: number, x: LlamaBatchInputs): Tensor {
  const head = weight(headName(c)); // [V, D]
  return o.matmul(llamaHidden(c, weight, lora, loraScale, x), o.transposeLast2(head)); // [B, T, V]
}

/**
 * Vocabulary rows per chunk of the LM head in `llamaTokenLogProbs`. A chunk's logits take
 * 16 KiB per position (a 2 048-position micro-batch: 32 MiB, a handful of such temporaries alive
 * in its backward step) where a 151 936-token vocabulary's whole logits take 1.2 GiB, several
 * times over in the backward pass. With 16 384-row chunks a 2-layer model of that vocabulary still
 * peaked ~1.5 GB above its weights in an update of 2 048 positions.
 */
export const HEAD_CHUNK_ROWS = 4096;

/**
 * log p(targets) [B, T] under the model, without the [B, T, V] logits existing whole: the head is
 * applied in vocabulary chunks of `chunkRows` (composites.chunkedTokenLogProbs).
 */
export function llamaTokenLogProbs(c: LlamaConfig, weight: WeightSource, lora: LoraSource, loraScale: number, x: LlamaBatchInputs, targets: Tensor, chunkRows = HEAD_CHUNK_ROWS, recomputeBlocks = false, recomputeWeights = true): Tensor {
  return llamaHeadLogProbs(c, weight, llamaHidden(c, weight, lora, loraScale, x, recomputeBlocks, recomputeWeights), targets, chunkRows);
}

/** log p(targets) [B, T] from the final hidden state [B, T, D] (after the output norm), head in chunks of `chunkRows`. */
export function llamaHeadLogProbs(c: LlamaConfig, weight: WeightSource, hidden: Tensor, targets: Tensor, chunkRows = HEAD_CHUNK_ROWS): Tensor {
  const head = weight(headName(c)); // [V, D]
  const rows = (start: number, end: number): Tensor => (start === 0 && end === c.vocab ? head : rowsOf(head, (w) => w.graph.recompute(o.slice(w, [start], [end], [0]))));
  const pick = (ids: Tensor): Tensor => rowsOf(head, (w) => o.gather(w, ids, 0));
  return chunkedTokenLogProbs(hidden, c.vocab, chunkRows, rows, pick, targets);
}

/**
 * Whether blocks are recomputed in the backward pass unless asked otherwise: when a micro-batch of
 * `positions` would keep more than 1 GiB of activations. Per position and block about 6
 * ffn-wide and 24 dim-wide float32 values are kept (gate, up, their SiLU product and its parts;
 * norms, projections, residuals): Qwen2.5-0.5B's shape at 2 048 positions keeps ~5 GiB, the
 * built-in model at 8 192 a few MiB.
 */
export function recomputeBlocksByDefault(c: { layers: number; ffn: number; dim: number }, positions: number): boolean {
  return keptBytesPerPosition(c) * positions > 2 ** 30;
}

/** Activation bytes a position keeps for the backward pass with nothing recomputed (see recomputeBlocksByDefault). */
function keptBytesPerPosition(c: { layers: number; ffn: number; dim: number }): number {
  return c.layers * (6 * c.ffn + 24 * c.dim) * 4;
}

/**
 * The most padded positions one micro-batch may hold, whatever the run's token budget says:
 * 1.25 GiB of activations by keptBytesPerPosition (at least one position). That estimate counts
 * every block's activations; with blocks recomputed the process holds less, but ONNX Runtime does
 * not run every recomputation late, so this cap is what bounds an update on a large model. On
 * Qwen2.5-0.5B's shape with the rollout engine loaded (bench/results/memory-*.json), 8 × 256
 * tokens in one micro-batch of 2 048 passed 11 GB before it was stopped, in micro-batches of
 * 2 × 256 peaked at 3.98 GB, and under this cap (275 positions: one sequence of 256 per
 * micro-batch; Qwen2.5-1.5B's is 132) at 3.34 GB.
 */
export function microBatchPositionCap(c: { layers: number; ffn: number; dim: number }): number {
  return Math.max(1, Math.floor((1.25 * 2 ** 30) / keptBytesPerPosition(c)));
}

/** Held base weights above which a LoRA policy trains block by block (PolicyModel, BlockwiseTrainer). */
export const BLOCKWISE_ABOVE_BYTES = 256 * 2 ** 20;

/** Whether a LoRA policy over `heldBytes` of base weights trains block by block unless asked otherwise. */
export function blockwiseByDefault(heldBytes: number): boolean {
  return heldBytes > BLOCKWISE_ABOVE_BYTES;
}

/**
 * The most padded positions a block-by-block micro-batch holds: one block's backward activations
 * (keptBytesPerPosition's share of one layer) plus every block boundary, within 0.75 GiB.
 */
export function blockwisePositionCap(c: { layers: number; ffn: number; dim: number }): number {
  const perPosition = keptBytesPerPosition({ ...c, layers: 1 }) + (c.layers + 1) * c.dim * 4;
  return Math.max(1, Math.floor((0.75 * 2 ** 30) / perPosition));
}

/** Graph inputs for a batch (names prefixed "batch:"). */
export function llamaBatchInputs(g: Graph, c: LlamaConfig, dtype: DType = "float32"): LlamaBatchInputs {
  return {
    tokens: g.input("batch:tokens", ["B", "T"], "int64"),
    cos: g.input("batch:cos", ["T", c.headDim / 2], dtype),
    sin: g.input("batch:sin", ["T", c.headDim / 2], dtype),
    mask: g.input("batch:mask", ["B", 1, "T", "T"], dtype),
  };
}
