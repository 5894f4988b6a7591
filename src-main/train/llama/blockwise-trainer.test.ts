import { beforeAll, describe, expect, it } from "vitest";
import { useTempDir } from "../../testing/temp-dir.js";
import { writeTinyModel } from "../../testing/tiny-files.js";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import { blockwisePositionCap, microBatchPositionCap } from "./llama-graph.js";
import { loadLlamaWeights, type LlamaWeights } from "./llama-weights.js";
import type { PolicySequence } from "./policy-batch.js";
import { PolicyModel, type Objective, type PolicyOptions, type TrainableMode } from "./policy-model.js";

const tmp = useTempDir();
const models: Record<string, LlamaWeights> = {};
beforeAll(() => {
  // qwen2: q/k/v biases; qwen3: q/k norms; llama F16: tied embeddings, float16-held matrices widened in the graphs.
  writeTinyModel(tmp.path("qwen2.gguf"), { arch: "qwen2", seed: 2, layers: 3, dim: 32, heads: 4, kvHeads: 2, ffn: 64, vocab: "bytes" });
  writeTinyModel(tmp.path("qwen3.gguf"), { arch: "qwen3", seed: 4, layers: 2, dim: 16, heads: 2, kvHeads: 1, ffn: 24, vocab: "bytes" });
  writeTinyModel(tmp.path("llama.gguf"), { arch: "llama", seed: 6, layers: 2, dim: 32, heads: 4, kvHeads: 4, ffn: 48, vocab: "bytes", tiedEmbeddings: true }, "F16");
  for (const n of ["qwen2", "qwen3", "llama"]) models[n] = loadLlamaWeights(tmp.path(`${n}.gguf`));
});

const bytes = (s: string): number[] => Array.from(Buffer.from(s, "utf8"));
const seq = (prompt: string, completion: string): PolicySequence => ({ tokens: [...bytes(prompt), ...bytes(completion)], completionStart: bytes(prompt).length });
const data = [seq("Q: 2+2?", " A: 4"), seq("Q: 2+2?", " A: 5!"), seq("Q: capital of France?", " Paris"), seq("Hello", ", world!"), seq("def f(x):", " return x * 2")];
const advantages = [1, -1, 0.5, -0.25, 0.75];
const lora: TrainableMode = { kind: "lora", lora: { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] }, seed: 3 };

/** |a − b| ≤ tol everywhere. */
function expectClose(a: readonly (readonly number[])[], b: readonly (readonly number[])[], tol: number, what: string): void {
  expect(b).toHaveLength(a.length);
  a.forEach((row, i) => row.forEach((v, t) => expect(Math.abs(b[i]![t]! - v), `${what} ${i}:${t}`).toBeLessThan(tol)));
}

async function pair(w: LlamaWeights, objective: Objective, options: PolicyOptions): Promise<[PolicyModel, PolicyModel]> {
  return [await PolicyModel.create(w, lora, objective, { ...options, blockwise: false }), await PolicyModel.create(w, lora, objective, { ...options, blockwise: true })];
}

describe("block-by-block LoRA training equals the one-graph trainer", () => {
  for (const [arch, kl] of [["qwen2", 0], ["qwen3", 0.05], ["llama", 0]] as const) {
    it(`${arch}: log-probs, loss, metrics, gradient norm and the updated adapter over two GRPO steps${kl ? ", KL on" : ""}`, async () => {
      const w = models[arch]!;
      const objective: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean", klCoef: kl } };
      // 40 positions per micro-batch: the five sequences train in several, accumulated.
      const [one, blocks] = await pair(w, objective, { hyper: { lr: 1e-2 }, microBatchTokens: 40 });
      try {
        expectClose(await one.logProbs(data), await blocks.logProbs(data), 1e-5, "initial log-probs");
        const refLogp = kl ? (await one.logProbs(data)).map((l) => l.map((v) => v - 0.1)) : undefined;
        for (let step = 0; step < 2; step++) {
          const oldLogp = (await one.logProbs(data)).map((l) => l.map((v) => v + 0.05 * (step + 1)));
          const a = await one.update(data, { advantages, oldLogp, refLogp });
          const b = await blocks.update(data, { advantages, oldLogp, refLogp });
          expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-5);
          expect(Math.abs(b.gradNorm - a.gradNorm)).toBeLessThan(1e-4 * Math.max(1, a.gradNorm));
          expect(Object.keys(b.metrics).sort()).toEqual(Object.keys(a.metrics).sort());
          for (const k of Object.keys(a.metrics)) expect(Math.abs(b.metrics[k]! - a.metrics[k]!), k).toBeLessThan(1e-5);
          expectClose(a.logp, b.logp, 1e-5, `step ${step} log-probs`);
        }
        expect(blocks.step).toBe(2);
        const pa = one.trainables(), pb = blocks.trainables();
        expect(Object.keys(pb)).toEqual(Object.keys(pa));
        for (const k of Object.keys(pa)) expectClose([Array.from(pa[k]!)], [Array.from(pb[k]!)], 1e-5, k);
      } finally {
        await Promise.all([one.dispose(), blocks.dispose()]);
      }
    });
  }

  it("SFT with prefix-packed rows gives the same update", async () => {
    const [one, blocks] = await pair(models.qwen2!, { kind: "sft" }, { hyper: { lr: 1e-2 }, microBatchTokens: 4096, packPrefixes: true });
    try {
      const a = await one.update(data);
      const b = await blocks.update(data);
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-5);
      const pa = one.trainables(), pb = blocks.trainables();
      for (const k of Object.keys(pa)) expectClose([Array.from(pa[k]!)], [Array.from(pb[k]!)], 1e-5, k);
    } finally {
      await Promise.all([one.dispose(), blocks.dispose()]);
    }
  });

  it("its checkpoints resume in the one-graph trainer (same names, same state)", async () => {
    const objective: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean", klCoef: 0 } };
    const [one, blocks] = await pair(models.qwen3!, objective, { hyper: { lr: 1e-2 }, microBatchTokens: 64 });
    try {
      await blocks.update(data, { advantages });
      saveCheckpoint(tmp.path("ckpt"), blocks.engine, { note: "blockwise" });
      expect(loadCheckpoint<{ note: string }>(tmp.path("ckpt"), one.engine).extra.note).toBe("blockwise");
      expect(one.step).toBe(1);
      const pa = one.trainables(), pb = blocks.trainables();
      for (const k of Object.keys(pb)) expect(pa[k], k).toEqual(pb[k]);
      const [a, b] = [await one.update(data, { advantages }), await blocks.update(data, { advantages })];
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-5);
    } finally {
      await Promise.all([one.dispose(), blocks.dispose()]);
    }
  });

  it("is refused for full-parameter training", async () => {
    await expect(PolicyModel.create(models.qwen3!, { kind: "full" }, { kind: "sft" }, { blockwise: true })).rejects.toThrow(/LoRA/);
  });

  it("holds micro-batches of thousands of positions on Qwen2.5-0.5B/1.5B shapes where one graph holds ~one sequence", () => {
    const q05 = { layers: 24, dim: 896, ffn: 4864 };
    const q15 = { layers: 28, dim: 1536, ffn: 8960 };
    expect(blockwisePositionCap(q05)).toBeGreaterThan(2048);
    expect(blockwisePositionCap(q15)).toBeGreaterThan(1024);
    expect(blockwisePositionCap(q05)).toBeGreaterThan(8 * microBatchPositionCap(q05));
  });
});
