// Random LoRA adapters for a model: for tests (zero-B and non-zero-B cases), benchmarks and the
// equivalence checks between llama.cpp and the training graph.
import { Rng } from "../util/rng.js";
import type { LoraAdapter, LoraTensorPair } from "./lora-file.js";
import type { ModelDescription } from "./model-file.js";

/** Options of a random adapter. */
export interface RandomLoraOptions {
  arch: string;
  rank: number;
  alpha: number;
  /** Weight base names to adapt by their suffix, e.g. ["attn_q", "attn_v"]. */
  targets: readonly string[];
  /** Standard deviation of B; 0 gives the standard LoRA start (no change to the model). */
  bStd: number;
  seed: number;
}

/** An adapter over every matrix of `model` whose name is `blk.N.<target>.weight`. */
export function randomLora(model: ModelDescription, options: RandomLoraOptions): LoraAdapter {
  const rng = new Rng(options.seed);
  const r = options.rank;
  const tensors: LoraTensorPair[] = [];
  for (const t of model.tensors) {
    const m = /^(blk\.\d+\.([a-z_]+))\.weight$/.exec(t.name);
    if (!m || !options.targets.includes(m[2]!) || t.dims.length !== 2) continue;
    const [nIn, nOut] = t.dims as [number, number];
    tensors.push({
      target: m[1]!,
      nIn,
      nOut,
      a: rng.normals(r * nIn, 1 / Math.sqrt(nIn)),
      b: options.bStd === 0 ? new Float32Array(nOut * r) : rng.normals(nOut * r, options.bStd),
    });
  }
  if (tensors.length === 0) throw new Error(`no weights match LoRA targets ${options.targets.join(", ")}`);
  return { arch: options.arch, rank: r, alpha: options.alpha, tensors };
}
