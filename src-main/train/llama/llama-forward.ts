// Forward-only logits of a llama-family model (frozen weights, optional frozen LoRA) through ONNX
// Runtime: what the equivalence check and evaluation use.
import { Graph, type Tensor } from "../graph.js";
import { exportModel } from "../onnx-export.js";
import { OrtProgram, type ExecutionProvider } from "../ort-session.js";
import { llamaRopeTables, padBatch } from "./llama-batch.js";
import { llamaBatchInputs, llamaLogits } from "./llama-graph.js";
import { ropeFreqs, weightF32, type LlamaWeights } from "./llama-weights.js";
import type { LoraConfig, LoraPair } from "./lora.js";

/** A compiled forward pass. */
export class LlamaForward {
  private constructor(
    private readonly weights: LlamaWeights,
    private readonly program: OrtProgram,
  ) {}

  /** Compile the forward graph of `weights` with an optional LoRA adapter baked in. */
  static async create(weights: LlamaWeights, lora: { config: LoraConfig; pairs: readonly LoraPair[] } | null = null, provider: ExecutionProvider = "cpu"): Promise<LlamaForward> {
    const g = new Graph();
    const constants = new Map<string, Tensor>();
    const weight = (name: string): Tensor => {
      let t = constants.get(name);
      if (!t) {
        const row = weights.rows.find((r) => r.name === name);
        const data = row && weightF32(weights, name);
        if (!row || !data) throw new Error(`${weights.path}: the graph asked for an unknown tensor ${name}`);
        t = g.constant({ dtype: "float32", dims: row.shape, data }, name);
        constants.set(name, t);
      }
      return t;
    };
    const pairs = new Map((lora?.pairs ?? []).map((p) => [p.base, p]));
    const loraTensors = (base: string): { a: Tensor; b: Tensor } | null => {
      const p = pairs.get(base);
      if (!p || !lora) return null;
      return {
        a: g.constant({ dtype: "float32", dims: [lora.config.rank, p.nIn], data: p.a }, `${base}.lora_a`),
        b: g.constant({ dtype: "float32", dims: [p.nOut, lora.config.rank], data: p.b }, `${base}.lora_b`),
      };
    };
    const scale = lora ? lora.config.alpha / lora.config.rank : 0;
    const logits = llamaLogits(weights.config, weight, loraTensors, scale, llamaBatchInputs(g, weights.config));
    const program = await OrtProgram.create(exportModel(g, { logits }, { name: "llama-forward", externalThresholdBytes: 256 * 2 ** 20 }), { provider });
    return new LlamaForward(weights, program);
  }

  /** Logits [B, T, V] for right-padded `sequences`. */
  async logits(sequences: readonly (readonly number[])[]): Promise<{ data: Float32Array; width: number; lengths: number[] }> {
    const batch = padBatch(sequences);
    const freqs = ropeFreqs(this.weights);
    const { cos, sin } = llamaRopeTables(this.weights.config, batch.width, freqs);
    const out = await this.program.run({ "batch:tokens": batch.tokens, "batch:cos": cos, "batch:sin": sin, "batch:mask": batch.mask });
    return { data: out.logits!.data as Float32Array, width: batch.width, lengths: batch.lengths };
  }

  /** log-softmax of the last position's logits of each sequence, in float64. */
  async nextTokenLogProbs(sequences: readonly (readonly number[])[]): Promise<Float64Array[]> {
    const { data, width, lengths } = await this.logits(sequences);
    const v = this.weights.config.vocab;
    return lengths.map((len, i) => {
      const row = data.subarray((i * width + len - 1) * v, (i * width + len) * v);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      const lse = max + Math.log(sum);
      return Float64Array.from(row, (x) => x - lse);
    });
  }

  /** Release the session. Safe to call more than once. */
  dispose(): Promise<void> {
    return this.program.dispose();
  }
}
