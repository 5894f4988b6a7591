// LoRA adapters for llama-family models: configuration, initialization (A random, B zero, as
// PEFT does), and conversion to the adapter-file form llama.cpp loads.
import type { LoraAdapter } from "../../model/lora-file.js";
import { Rng } from "../../util/rng.js";
import type { LlamaConfig } from "./llama-config.js";
import { LORA_TARGETS, loraBaseName, paramTable, type LoraTarget } from "./param-table.js";

/** LoRA hyper-parameters. */
export interface LoraConfig {
  rank: number;
  /** Scale is alpha / rank. */
  alpha: number;
  targets: readonly LoraTarget[];
}

export const DEFAULT_LORA: LoraConfig = { rank: 16, alpha: 32, targets: ["q", "k", "v", "o", "gate", "up", "down"] };

/** The adapter's trainable pair for one projection: A [r, in], B [out, r] (PEFT layout). */
export interface LoraPair {
  /** GGUF base name of the adapted weight, e.g. "blk.0.attn_q". */
  base: string;
  nIn: number;
  nOut: number;
  a: Float32Array;
  b: Float32Array;
}

/** Check a LoRA config; errors name the bad field. */
export function validateLora(c: LoraConfig): void {
  if (!Number.isInteger(c.rank) || c.rank < 1) throw new Error(`LoRA rank must be a positive integer, found ${c.rank}`);
  if (!(c.alpha > 0)) throw new Error(`LoRA alpha must be positive, found ${c.alpha}`);
  const bad = c.targets.filter((t) => !(LORA_TARGETS as readonly string[]).includes(t));
  if (bad.length > 0 || c.targets.length === 0) throw new Error(`LoRA targets must be among ${LORA_TARGETS.join(", ")}; found ${c.targets.join(", ") || "none"}`);
}

/** The projections `c` adapts, in file order, with their shapes. */
export function loraTargetShapes(model: LlamaConfig, c: LoraConfig): { base: string; nIn: number; nOut: number }[] {
  validateLora(c);
  return paramTable(model)
    .filter((row) => row.loraTarget && row.layer !== null && c.targets.includes(row.loraTarget))
    .map((row) => ({ base: loraBaseName(row.loraTarget!, row.layer!), nIn: row.shape[1]!, nOut: row.shape[0]! }));
}

/**
 * A fresh adapter: A ~ U(−1/√in, 1/√in) (PEFT's Kaiming-uniform with a = √5), B = 0, so the
 * adapted model starts equal to the base. `bStd` > 0 gives a random B (for tests).
 */
export function initLora(model: LlamaConfig, c: LoraConfig, seed: number, bStd = 0): LoraPair[] {
  const rng = new Rng(seed);
  return loraTargetShapes(model, c).map(({ base, nIn, nOut }) => {
    const bound = 1 / Math.sqrt(nIn);
    return {
      base,
      nIn,
      nOut,
      a: Float32Array.from({ length: c.rank * nIn }, () => (2 * rng.uniform() - 1) * bound),
      b: bStd === 0 ? new Float32Array(nOut * c.rank) : rng.normals(nOut * c.rank, bStd),
    };
  });
}

/** The adapter in the form writeLoraGguf takes. */
export function toLoraAdapter(model: LlamaConfig, c: LoraConfig, pairs: readonly LoraPair[]): LoraAdapter {
  return { arch: model.arch, rank: c.rank, alpha: c.alpha, tensors: pairs.map((p) => ({ target: p.base, nIn: p.nIn, nOut: p.nOut, a: p.a, b: p.b })) };
}
