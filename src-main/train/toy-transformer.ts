// A small decoder-only transformer (RMSNorm, RoPE, GQA causal attention, SwiGLU) for next-token
// prediction: the training engine's test and benchmark model. The Llama-family builders that
// read GGUF files are separate; this one owns its random parameters.
import { Rng } from "../util/rng.js";
import { crossEntropy, attention, rmsNorm, rope, silu } from "./composites.js";
import type { Tensor } from "./graph.js";
import * as o from "./ops.js";
import type { ParamSpec, TrainSpec } from "./trainer.js";

/** Hyper-parameters; every field has a default. */
export interface ToyTransformerConfig {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  ropeBase: number;
  eps: number;
  seed: number;
}

export const DEFAULT_TOY: ToyTransformerConfig = { vocab: 16, dim: 32, layers: 1, heads: 4, kvHeads: 2, ffn: 64, ropeBase: 10000, eps: 1e-5, seed: 1 };

/** Parameter table: name, shape, initial values (matrices N(0, 1/fan-in), norms 1). */
export function toyParams(c: ToyTransformerConfig): ParamSpec[] {
  const rng = new Rng(c.seed);
  const hd = c.dim / c.heads;
  const out: ParamSpec[] = [];
  const matrix = (name: string, nIn: number, nOut: number): void => void out.push({ name, shape: [nIn, nOut], init: rng.normals(nIn * nOut, 1 / Math.sqrt(nIn)) });
  const ones = (name: string, n: number): void => void out.push({ name, shape: [n], init: new Float32Array(n).fill(1) });
  out.push({ name: "embed", shape: [c.vocab, c.dim], init: rng.normals(c.vocab * c.dim, 1) });
  for (let l = 0; l < c.layers; l++) {
    ones(`l${l}.norm1`, c.dim);
    matrix(`l${l}.wq`, c.dim, c.heads * hd);
    matrix(`l${l}.wk`, c.dim, c.kvHeads * hd);
    matrix(`l${l}.wv`, c.dim, c.kvHeads * hd);
    matrix(`l${l}.wo`, c.heads * hd, c.dim);
    ones(`l${l}.norm2`, c.dim);
    matrix(`l${l}.wgate`, c.dim, c.ffn);
    matrix(`l${l}.wup`, c.dim, c.ffn);
    matrix(`l${l}.wdown`, c.ffn, c.dim);
  }
  ones("normf", c.dim);
  matrix("head", c.dim, c.vocab);
  return out;
}

/** Logits [B, T, V] for int64 tokens [B, T]; cos/sin [T, hd/2]; additive mask [T, T]. */
export function toyForward(c: ToyTransformerConfig, p: Readonly<Record<string, Tensor>>, tokens: Tensor, cos: Tensor, sin: Tensor, mask: Tensor): Tensor {
  const hd = c.dim / c.heads;
  let x = o.gather(p.embed!, tokens, 0); // [B, T, D]
  for (let l = 0; l < c.layers; l++) {
    const w = (n: string): Tensor => p[`l${l}.${n}`]!;
    const h = rmsNorm(x, w("norm1"), c.eps);
    const q = rope(o.reshape(o.matmul(h, w("wq")), ["B", "T", c.heads, hd]), cos, sin, "neox"); // [B, T, H, hd]
    const k = rope(o.reshape(o.matmul(h, w("wk")), ["B", "T", c.kvHeads, hd]), cos, sin, "neox"); // [B, T, Hkv, hd]
    const v = o.reshape(o.matmul(h, w("wv")), ["B", "T", c.kvHeads, hd]);
    const perm = [0, 2, 1, 3];
    const a = attention(o.transpose(q, perm), o.transpose(k, perm), o.transpose(v, perm), mask); // [B, H, T, hd]
    x = o.add(x, o.matmul(o.reshape(o.transpose(a, perm), ["B", "T", c.dim]), w("wo")));
    const h2 = rmsNorm(x, w("norm2"), c.eps);
    x = o.add(x, o.matmul(o.mul(silu(o.matmul(h2, w("wgate"))), o.matmul(h2, w("wup"))), w("wdown")));
  }
  return o.matmul(rmsNorm(x, p.normf!, c.eps), p.head!); // [B, T, V]
}

/** Next-token cross-entropy over tokens [B, T] → targets [B, T]. */
export function toyTrainSpec(config: Partial<ToyTransformerConfig> = {}): TrainSpec & { config: ToyTransformerConfig } {
  const c = { ...DEFAULT_TOY, ...config };
  const hd = c.dim / c.heads;
  return {
    config: c,
    params: toyParams(c),
    data: [
      { name: "tokens", shape: ["B", "T"], dtype: "int64" },
      { name: "targets", shape: ["B", "T"], dtype: "int64" },
      { name: "cos", shape: ["T", hd / 2], dtype: "float32" },
      { name: "sin", shape: ["T", hd / 2], dtype: "float32" },
      { name: "mask", shape: ["T", "T"], dtype: "float32" },
    ],
    build: (_g, p, d) => {
      const logits = toyForward(c, p, d.tokens!, d.cos!, d.sin!, d.mask!);
      const loss = crossEntropy(o.reshape(logits, ["B*T", c.vocab]), o.reshape(d.targets!, ["B*T"]));
      return { loss };
    },
  };
}
