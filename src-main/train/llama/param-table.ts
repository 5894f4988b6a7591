// The parameter table of a llama-family model: one row per tensor (GGUF name, row-major shape,
// role, LoRA target). ONNX input names, checkpoint layout and GGUF tensor names all derive from it.
import { TensorNames, tensorName } from "../../gguf/constants.js";
import type { LlamaConfig } from "./llama-config.js";

/** Projections a LoRA adapter may target, by their GGUF short names. */
export const LORA_TARGETS = ["q", "k", "v", "o", "gate", "up", "down"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

const TARGET_TEMPLATE: Record<LoraTarget, string> = {
  q: TensorNames.attnQ,
  k: TensorNames.attnK,
  v: TensorNames.attnV,
  o: TensorNames.attnOutput,
  gate: TensorNames.ffnGate,
  up: TensorNames.ffnUp,
  down: TensorNames.ffnDown,
};

/** One model tensor. Shapes are row-major (the reverse of GGUF's ggml order). */
export interface ParamRow {
  /** GGUF tensor name, also the parameter's name everywhere else. */
  name: string;
  /** Row-major shape: matrices are [out, in], as stored in GGUF. */
  shape: number[];
  role: "embedding" | "norm" | "matrix" | "bias" | "ropeFreqs";
  /** Set on the projections a LoRA can adapt. */
  loraTarget?: LoraTarget;
  layer: number | null;
}

/** Every tensor the model has, in file order. */
export function paramTable(c: LlamaConfig): ParamRow[] {
  const rows: ParamRow[] = [];
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  rows.push({ name: tensorName(TensorNames.tokenEmbd, null, "weight"), shape: [c.vocab, c.dim], role: "embedding", layer: null });
  if (c.hasRopeFreqs) rows.push({ name: tensorName(TensorNames.ropeFreqs, null, "weight"), shape: [c.headDim / 2], role: "ropeFreqs", layer: null });
  const matrix = (t: LoraTarget, b: number, nOut: number, nIn: number): void =>
    void rows.push({ name: tensorName(TARGET_TEMPLATE[t], b, "weight"), shape: [nOut, nIn], role: "matrix", loraTarget: t, layer: b });
  for (let b = 0; b < c.layers; b++) {
    rows.push({ name: tensorName(TensorNames.attnNorm, b, "weight"), shape: [c.dim], role: "norm", layer: b });
    matrix("q", b, qDim, c.dim);
    matrix("k", b, kvDim, c.dim);
    matrix("v", b, kvDim, c.dim);
    if (c.qkvBias) {
      rows.push({ name: tensorName(TensorNames.attnQ, b, "bias"), shape: [qDim], role: "bias", layer: b });
      rows.push({ name: tensorName(TensorNames.attnK, b, "bias"), shape: [kvDim], role: "bias", layer: b });
      rows.push({ name: tensorName(TensorNames.attnV, b, "bias"), shape: [kvDim], role: "bias", layer: b });
    }
    if (c.qkNorm) {
      rows.push({ name: tensorName(TensorNames.attnQNorm, b, "weight"), shape: [c.headDim], role: "norm", layer: b });
      rows.push({ name: tensorName(TensorNames.attnKNorm, b, "weight"), shape: [c.headDim], role: "norm", layer: b });
    }
    matrix("o", b, c.dim, qDim);
    rows.push({ name: tensorName(TensorNames.ffnNorm, b, "weight"), shape: [c.dim], role: "norm", layer: b });
    matrix("gate", b, c.ffn, c.dim);
    matrix("up", b, c.ffn, c.dim);
    matrix("down", b, c.dim, c.ffn);
  }
  rows.push({ name: tensorName(TensorNames.outputNorm, null, "weight"), shape: [c.dim], role: "norm", layer: null });
  if (!c.tiedEmbeddings) rows.push({ name: tensorName(TensorNames.output, null, "weight"), shape: [c.vocab, c.dim], role: "matrix", layer: null });
  return rows;
}

/** GGUF base name of the projection `target` in block `layer` (e.g. "blk.0.attn_q"), as LoRA files name it. */
export function loraBaseName(target: LoraTarget, layer: number): string {
  return TARGET_TEMPLATE[target].replace("{bid}", String(layer));
}
