// The forward graph of llama / qwen2 / qwen3 as llama.cpp computes it (llama.cpp src/models/*.cpp):
// embeddings → per block [RMSNorm → q,k,v (+bias) → (q/k RMSNorm) → RoPE → GQA causal attention
// → o] + residual → [RMSNorm → SwiGLU] + residual → RMSNorm → output head (or tied embedding).
import { attention, rmsNorm, rope, silu } from "../composites.js";
import type { DType } from "../dtype.js";
import type { Graph, Tensor } from "../graph.js";
import * as o from "../ops.js";
import type { LlamaConfig } from "./llama-config.js";
import type { LoraTarget } from "./param-table.js";

/** Where each weight comes from: a graph input (trainable) or a constant (frozen). */
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

/** Logits [B, T, V] of the model. `loraScale` is alpha / rank. */
export function llamaLogits(c: LlamaConfig, weight: WeightSource, lora: LoraSource, loraScale: number, x: LlamaBatchInputs): Tensor {
  const hd = c.headDim;
  const blockName = (b: number, t: string): string => `blk.${b}.${t}`;
  // y = x Wᵀ (+ bias) (+ scale · x Aᵀ Bᵀ); W is [out, in] as GGUF stores it.
  const project = (h: Tensor, b: number, t: string, target: LoraTarget | null, bias: boolean): Tensor => {
    let y = o.matmul(h, o.transposeLast2(weight(`${blockName(b, t)}.weight`)));
    if (bias) y = o.add(y, weight(`${blockName(b, t)}.bias`));
    const pair = target ? lora(blockName(b, t)) : null;
    if (pair) y = o.add(y, o.mul(o.matmul(o.matmul(h, o.transposeLast2(pair.a)), o.transposeLast2(pair.b)), loraScale));
    return y;
  };

  let h = o.gather(weight("token_embd.weight"), x.tokens, 0); // [B, T, D]
  const toHeads = [0, 2, 1, 3];
  for (let b = 0; b < c.layers; b++) {
    const n = rmsNorm(h, weight(`${blockName(b, "attn_norm")}.weight`), c.rmsEps);
    const bt = h.shape.slice(0, 2); // [B, T], symbolic or static
    let q = o.reshape(project(n, b, "attn_q", "q", c.qkvBias), [...bt, c.heads, hd]); // [B, T, H, hd]
    let k = o.reshape(project(n, b, "attn_k", "k", c.qkvBias), [...bt, c.kvHeads, hd]); // [B, T, Hkv, hd]
    const v = o.reshape(project(n, b, "attn_v", "v", c.qkvBias), [...bt, c.kvHeads, hd]);
    if (c.qkNorm) {
      q = rmsNorm(q, weight(`${blockName(b, "attn_q_norm")}.weight`), c.rmsEps);
      k = rmsNorm(k, weight(`${blockName(b, "attn_k_norm")}.weight`), c.rmsEps);
    }
    q = rope(q, x.cos, x.sin, c.ropeStyle);
    k = rope(k, x.cos, x.sin, c.ropeStyle);
    const att = attention(o.transpose(q, toHeads), o.transpose(k, toHeads), o.transpose(v, toHeads), x.mask); // [B, H, T, hd]
    const merged = o.reshape(o.transpose(att, toHeads), [...bt, c.heads * hd]); // [B, T, H·hd]
    h = o.add(h, project(merged, b, "attn_output", "o", false));
    const m = rmsNorm(h, weight(`${blockName(b, "ffn_norm")}.weight`), c.rmsEps);
    const act = o.mul(silu(project(m, b, "ffn_gate", "gate", false)), project(m, b, "ffn_up", "up", false)); // [B, T, F]
    h = o.add(h, project(act, b, "ffn_down", "down", false));
  }
  const final = rmsNorm(h, weight("output_norm.weight"), c.rmsEps);
  const head = weight(c.tiedEmbeddings ? "token_embd.weight" : "output.weight"); // [V, D]
  return o.matmul(final, o.transposeLast2(head)); // [B, T, V]
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
