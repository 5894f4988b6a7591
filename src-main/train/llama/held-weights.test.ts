import { beforeAll, describe, expect, it } from "vitest";
import { useTempDir } from "../../testing/temp-dir.js";
import { writeTinyModel } from "../../testing/tiny-files.js";
import { heldBytes, loadLlamaWeights, weightF32, type LlamaWeights } from "./llama-weights.js";
import type { PolicySequence } from "./policy-batch.js";
import { PolicyModel, type Objective, type PolicyOptions } from "./policy-model.js";
import type { Trainer } from "../trainer.js";

const tmp = useTempDir();
const spec = { arch: "qwen2", seed: 5, layers: 2, dim: 32, heads: 4, kvHeads: 2, ffn: 64, vocab: "bytes" } as const;
let f32File: LlamaWeights;
let f16File: LlamaWeights;
beforeAll(() => {
  writeTinyModel(tmp.path("f32.gguf"), spec, "F32");
  writeTinyModel(tmp.path("f16.gguf"), spec, "F16");
  f32File = loadLlamaWeights(tmp.path("f32.gguf"));
  f16File = loadLlamaWeights(tmp.path("f16.gguf"));
});

const bytes = (s: string): number[] => Array.from(Buffer.from(s, "utf8"));
const seq = (prompt: string, completion: string): PolicySequence => ({ tokens: [...bytes(prompt), ...bytes(completion)], completionStart: bytes(prompt).length });
const data = [seq("Say yes:", " yes"), seq("A longer prompt that pads the batch:", " no"), seq("Q:", " 4 and more")];
const grpo: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean", klCoef: 0 } };
const lora = { kind: "lora" as const, lora: { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] as const }, seed: 3 };

async function logProbs(weights: LlamaWeights, options: PolicyOptions = {}): Promise<number[]> {
  const model = await PolicyModel.create(weights, { ...lora, lora: { ...lora.lora, targets: [...lora.lora.targets] } }, grpo, options);
  try {
    return (await model.logProbs(data)).flat();
  } finally {
    await model.dispose();
  }
}

const maxDiff = (a: readonly number[], b: readonly number[]): number => {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
};

describe("frozen weights held once, compactly", () => {
  it("holds F16 matrices as float16 bits and vectors as float32; float32 holding widens them exactly", () => {
    const matrices = f16File.rows.filter((r) => r.shape.length === 2).map((r) => r.name);
    const vectors = f16File.rows.filter((r) => r.shape.length === 1).map((r) => r.name);
    for (const n of matrices) expect(f16File.held.get(n)!.dtype, n).toBe("float16");
    for (const n of vectors) expect(f16File.held.get(n)!.dtype, n).toBe("float32");
    for (const t of f32File.held.values()) expect(t.dtype).toBe("float32");
    const wide = loadLlamaWeights(tmp.path("f16.gguf"), undefined, "float32");
    for (const n of matrices) expect(weightF32(f16File, n), n).toEqual(wide.held.get(n)!.data);
    // Matrices dominate: half the bytes, give or take the vectors.
    expect(heldBytes(f16File)).toBeLessThan(0.6 * heldBytes(wide));
  });

  it("the training sessions carry no frozen weight: each is created with a few KiB of constants", async () => {
    const model = await PolicyModel.create(f16File, { ...lora, lora: { ...lora.lora, targets: [...lora.lora.targets] } }, grpo, { microBatchTokens: 256 });
    try {
      const { step, forward, outputs } = (model.engine as Trainer).constantBytes;
      // Scalars, shapes and axes only; the weights (~0.1 MB here) would be every one of them.
      for (const n of [step, forward, outputs]) expect(n).toBeLessThan(16 * 1024);
      expect(heldBytes(f16File)).toBeGreaterThan(50_000);
    } finally {
      await model.dispose();
    }
  });

  it("float16-held weights give the float32-held log-probs: exactly widened F16, within 2e-3 nats for rounded F32", async () => {
    const fromF16 = await logProbs(f16File);
    const fromF16Wide = await logProbs(loadLlamaWeights(tmp.path("f16.gguf"), undefined, "float32"));
    expect(maxDiff(fromF16, fromF16Wide)).toBeLessThan(1e-5);
    const exact = await logProbs(f32File);
    const rounded = await logProbs(loadLlamaWeights(tmp.path("f32.gguf"), undefined, "float16"));
    const d = maxDiff(exact, rounded);
    // Rounding every weight to binary16 (relative 2⁻¹¹) moves log-probs, but only a little.
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(2e-3);
  });
});

describe("the LM head in vocabulary chunks", () => {
  it("gives the whole-logits log-probs (3 chunks of 100 rows, the last partial)", async () => {
    const whole = await logProbs(f16File);
    const chunked = await logProbs(f16File, { headChunkRows: 100 });
    expect(f16File.config.vocab).toBeGreaterThan(200);
    expect(maxDiff(whole, chunked)).toBeLessThan(1e-5);
  });

  it("with blocks recomputed, takes the same update as the plain graph", async () => {
    const run = async (options: PolicyOptions): Promise<{ loss: number; logp: number[]; after: number[] }> => {
      const model = await PolicyModel.create(f16File, { ...lora, lora: { ...lora.lora, targets: [...lora.lora.targets] } }, grpo, { hyper: { lr: 1e-3 }, microBatchTokens: 64, ...options });
      try {
        const r = await model.update(data, { advantages: [1, -0.5, 0.8] });
        // A second step: B is non-zero after the first, so both A and B gradients enter.
        await model.update(data, { advantages: [1, -0.5, 0.8] });
        return { loss: r.loss, logp: r.logp.flat(), after: (await model.logProbs(data)).flat() };
      } finally {
        await model.dispose();
      }
    };
    const plain = await run({ recomputeBlocks: false });
    const lean = await run({ recomputeBlocks: true, headChunkRows: 100 });
    expect(Math.abs(plain.loss - lean.loss)).toBeLessThan(1e-6);
    expect(maxDiff(plain.logp, lean.logp)).toBeLessThan(1e-5);
    expect(maxDiff(plain.after, lean.after)).toBeLessThan(1e-4);
  });
});
