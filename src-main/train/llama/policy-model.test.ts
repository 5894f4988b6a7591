import { beforeAll, describe, expect, it } from "vitest";
import { useTempDir } from "../../testing/temp-dir.js";
import { writeTinyModel } from "../../testing/tiny-files.js";
import { Rng } from "../../util/rng.js";
import { Graph, type Tensor } from "../graph.js";
import { gradCheck, type CheckInput } from "../gradcheck.js";
import type { Aggregation } from "../losses.js";
import { exportModel } from "../onnx-export.js";
import { OrtProgram, type HostTensor } from "../ort-session.js";
import { llamaRopeTables } from "./llama-batch.js";
import { loadLlamaWeights, weightF32, type LlamaWeights } from "./llama-weights.js";
import { initLora } from "./lora.js";
import { policyBatch, type PolicySequence } from "./policy-batch.js";
import { microBatchPositionCap, recomputeBlocksByDefault } from "./llama-graph.js";
import { buildObjective, microBatches, PolicyModel, prefixPacks, type Objective } from "./policy-model.js";
import { packPrefixTree } from "./policy-pack.js";

const tmp = useTempDir();
let weights: LlamaWeights;
let tinyWeights: LlamaWeights;
beforeAll(() => {
  writeTinyModel(tmp.path("m.gguf"), { arch: "qwen2", seed: 2, layers: 2, dim: 32, heads: 4, kvHeads: 2, ffn: 64, vocab: "bytes" });
  weights = loadLlamaWeights(tmp.path("m.gguf"));
  writeTinyModel(tmp.path("g.gguf"), { arch: "qwen3", seed: 4, layers: 1, dim: 8, heads: 2, kvHeads: 1, ffn: 8, vocab: "bytes" });
  tinyWeights = loadLlamaWeights(tmp.path("g.gguf"));
});

const bytes = (s: string): number[] => Array.from(Buffer.from(s, "utf8"));
const seq = (prompt: string, completion: string): PolicySequence => ({ tokens: [...bytes(prompt), ...bytes(completion)], completionStart: bytes(prompt).length });

describe("policy updates on a tiny qwen2", () => {
  it("SFT memorises a small text set", async () => {
    const data = [seq("Q: 2+2?", " A: 4"), seq("Q: capital of France?", " A: Paris"), seq("Hello", ", world!"), seq("def f(x):", " return x")];
    const model = await PolicyModel.create(weights, { kind: "full" }, { kind: "sft" }, { hyper: { lr: 3e-3, maxGradNorm: 1 } });
    const first = (await model.update(data)).loss;
    let last = first;
    for (let s = 0; s < 150; s++) last = (await model.update(data)).loss;
    expect(first).toBeGreaterThan(3);
    expect(last).toBeLessThan(0.05);
    await model.dispose();
  });

  it("one GRPO step raises a positively rewarded completion's log-prob and lowers a negative one", async () => {
    const objective: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean", klCoef: 0 } };
    const data = [seq("Say yes:", " yes"), seq("Say no:", " maybe")];
    const model = await PolicyModel.create(weights, { kind: "lora", lora: { rank: 8, alpha: 16, targets: ["q", "v", "up", "down"] }, seed: 1 }, objective, { hyper: { lr: 1e-2 } });
    // B starts at zero, so A gets no gradient on the first step; two steps move both.
    const before = (await model.logProbs(data)).map((l) => l.reduce((a, b) => a + b, 0));
    const initial = Object.fromEntries(Object.entries(model.trainables()).map(([k, v]) => [k, Float32Array.from(v)]));
    const baseBefore = new Map([...model.weights.held].map(([k, v]) => [k, Float32Array.from(v.data)]));
    const step = await model.update(data, { advantages: [1, -1] });
    expect(step.metrics["policy/ratioMean"]).toBeCloseTo(1, 6); // on-policy: old log-probs recomputed
    const after = (await model.logProbs(data)).map((l) => l.reduce((a, b) => a + b, 0));
    expect(after[0]).toBeGreaterThan(before[0]!);
    expect(after[1]).toBeLessThan(before[1]!);
    const changed = (name: string): boolean => model.trainables()[name]!.some((v, i) => v !== initial[name]![i]);
    const names = Object.keys(initial);
    expect(names.filter((n) => n.endsWith("lora_b") && !changed(n))).toEqual([]);
    expect(names.filter((n) => n.endsWith("lora_a") && changed(n))).toEqual([]);
    await model.update(data, { advantages: [1, -1] });
    expect(names.filter((n) => !changed(n))).toEqual([]);
    for (const [k, v] of model.weights.held) expect(Float32Array.from(v.data), k).toEqual(baseBefore.get(k));
    await model.dispose();
  });

  it("full-parameter mode changes every tensor in one step", async () => {
    const model = await PolicyModel.create(weights, { kind: "full" }, { kind: "sft" }, { hyper: { lr: 1e-3 } });
    const initial = Object.fromEntries(Object.entries(model.trainables()).map(([k, v]) => [k, Float32Array.from(v)]));
    await model.update([seq("abc", "def"), seq("xyz", "uvw")]);
    const unchanged = Object.keys(initial).filter((k) => model.trainables()[k]!.every((v, i) => v === initial[k]![i]));
    expect(unchanged).toEqual([]);
    await model.dispose();
  });
});

/** Constant float64 host data of the batch for the gradient checks. */
function batchConstants(g: Graph, w: LlamaWeights, sequences: PolicySequence[]): { model: { tokens: Tensor; cos: Tensor; sin: Tensor; mask: Tensor }; targets: Tensor; lossMask: Tensor; width: number } {
  const b = policyBatch(sequences);
  const { cos, sin } = llamaRopeTables(w.config, b.width);
  const f64 = (t: HostTensor): Tensor => g.constant({ dtype: "float64", dims: t.dims, data: Float64Array.from(t.data as Float32Array) });
  const i64 = (t: HostTensor): Tensor => g.constant({ dtype: "int64", dims: t.dims, data: t.data as BigInt64Array });
  return { model: { tokens: i64(b.tokens), cos: f64(cos), sin: f64(sin), mask: f64(b.attentionMask) }, targets: i64(b.targets), lossMask: f64(b.lossMask), width: b.width };
}

describe("full-model gradient check (float64, qwen3 1×8, LoRA on q and down)", () => {
  const sequences = [{ tokens: [5, 17, 99, 3, 42], completionStart: 2 }, { tokens: [7, 8, 9, 10], completionStart: 1 }];
  const lora = { rank: 2, alpha: 4, targets: ["q", "down"] as ("q" | "down")[] };

  function setup(): { pairs: ReturnType<typeof initLora>; inputs: CheckInput[]; weight: (g: Graph) => (name: string) => Tensor } {
    const pairs = initLora(tinyWeights.config, lora, 3, 0.5);
    const inputs: CheckInput[] = pairs.flatMap((p) => [
      { kind: "float" as const, shape: [lora.rank, p.nIn], values: () => Float64Array.from(p.a) },
      { kind: "float" as const, shape: [p.nOut, lora.rank], values: () => Float64Array.from(p.b) },
    ]);
    const weight = (g: Graph) => {
      const cache = new Map<string, Tensor>();
      return (name: string): Tensor => {
        if (!cache.has(name)) {
          const row = tinyWeights.rows.find((r) => r.name === name)!;
          cache.set(name, g.constant({ dtype: "float64", dims: row.shape, data: Float64Array.from(weightF32(tinyWeights, name)) }, name));
        }
        return cache.get(name)!;
      };
    };
    return { pairs, inputs, weight };
  }

  /** The lean graph: the LM head in chunks of `headChunkRows` rows, blocks recomputed in the backward pass. */
  interface Lean { headChunkRows: number; recomputeBlocks: boolean }

  function objectiveFn(objective: Objective, extra: (g: Graph, width: number) => { advantages: Tensor | null; oldLogp: Tensor | null; refLogp: Tensor | null }, pairs: ReturnType<typeof initLora>, weight: (g: Graph) => (name: string) => Tensor, lean: Lean | null = null) {
    return (...xs: Tensor[]): Tensor => {
      const g = xs[0]!.graph;
      const consts = batchConstants(g, tinyWeights, sequences);
      const loraOf = (base: string) => {
        const k = pairs.findIndex((p) => p.base === base);
        return k < 0 ? null : { a: xs[2 * k]!, b: xs[2 * k + 1]! };
      };
      return buildObjective(tinyWeights.config, weight(g), loraOf, lora.alpha / lora.rank, consts.model, { targets: consts.targets, lossMask: consts.lossMask, ...extra(g, consts.width) }, objective, lean?.headChunkRows, lean?.recomputeBlocks).loss;
    };
  }

  /** log-probs [B, T] at the starting point, as float64 host data. */
  async function logpAtStart(pairs: ReturnType<typeof initLora>, weight: (g: Graph) => (name: string) => Tensor): Promise<Float64Array> {
    const g = new Graph();
    const consts = batchConstants(g, tinyWeights, sequences);
    const loraOf = (base: string) => {
      const p = pairs.find((q) => q.base === base);
      return p ? { a: g.constant({ dtype: "float64", dims: [lora.rank, p.nIn], data: Float64Array.from(p.a) }), b: g.constant({ dtype: "float64", dims: [p.nOut, lora.rank], data: Float64Array.from(p.b) }) } : null;
    };
    const out = buildObjective(tinyWeights.config, weight(g), loraOf, lora.alpha / lora.rank, consts.model, { targets: consts.targets, lossMask: consts.lossMask, advantages: null, oldLogp: null, refLogp: null }, { kind: "sft" });
    const program = await OrtProgram.create(exportModel(g, { logp: out.logp }));
    const r = await program.run({});
    await program.dispose();
    return r.logp!.data as Float64Array;
  }

  it("cross-entropy", async () => {
    const { pairs, inputs, weight } = setup();
    const r = await gradCheck({ name: "sft", inputs, fn: objectiveFn({ kind: "sft" }, () => ({ advantages: null, oldLogp: null, refLogp: null }), pairs, weight) });
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(r.directionalRelError).toBeLessThan(1e-6);
  });

  it("cross-entropy, LM head in 3 chunks of 100 rows and the block recomputed", async () => {
    const { pairs, inputs, weight } = setup();
    expect(tinyWeights.config.vocab).toBeGreaterThan(200);
    const r = await gradCheck({ name: "sft-lean", inputs, fn: objectiveFn({ kind: "sft" }, () => ({ advantages: null, oldLogp: null, refLogp: null }), pairs, weight, { headChunkRows: 100, recomputeBlocks: true }) });
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(r.directionalRelError).toBeLessThan(1e-6);
  });

  it.each([
    ["clipping inactive", 0, "token-mean"],
    ["clipping active", 0.5, "sequence-mean"],
    ["clipping active with KL", 0.5, "token-sum"],
  ] as const)("policy loss, %s", async (name, shift, aggregation) => {
    const { pairs, inputs, weight } = setup();
    const logp0 = await logpAtStart(pairs, weight);
    const rng = new Rng(8);
    // Every other token's old log-prob sits `shift` below the current one: ratio e^shift ≈ 1.65, past 1 + 0.28.
    const old = logp0.map((v, i) => (i % 2 === 0 ? v - shift : v));
    const ref = logp0.map((v) => v + 0.3 * rng.normal());
    const kl = name.endsWith("KL") ? 0.1 : 0;
    const objective: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: aggregation as Aggregation, klCoef: kl } };
    const extra = (g: Graph, width: number) => ({
      advantages: g.constant({ dtype: "float64", dims: [2], data: Float64Array.of(1, -0.7) }),
      oldLogp: g.constant({ dtype: "float64", dims: [2, width], data: old }),
      refLogp: kl ? g.constant({ dtype: "float64", dims: [2, width], data: ref }) : null,
    });
    const r = await gradCheck({ name, inputs, fn: objectiveFn(objective, extra, pairs, weight) });
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(r.directionalRelError).toBeLessThan(1e-6);
    // The same loss on the lean graph (chunked head, block recomputed).
    const leanCheck = await gradCheck({ name: `${name} (lean)`, inputs, fn: objectiveFn(objective, extra, pairs, weight, { headChunkRows: 100, recomputeBlocks: true }) });
    expect(leanCheck.maxRelError).toBeLessThan(1e-6);
    expect(leanCheck.directionalRelError).toBeLessThan(1e-6);
  });
});

describe("activation bounds by model shape", () => {
  const qwen05 = { layers: 24, dim: 896, ffn: 4864 };
  const qwen15 = { layers: 28, dim: 1536, ffn: 8960 };
  it("caps a micro-batch at one 256-token sequence for Qwen2.5-0.5B and -1.5B shapes, not for small models", () => {
    expect(microBatchPositionCap(qwen05)).toBe(275);
    expect(microBatchPositionCap(qwen15)).toBe(132);
    expect(microBatchPositionCap({ layers: 2, dim: 32, ffn: 64 })).toBeGreaterThan(100_000);
    // One sequence longer than the cap still trains, alone in its micro-batch.
    const long = [{ tokens: new Array<number>(300).fill(1), completionStart: 10 }, { tokens: new Array<number>(200).fill(1), completionStart: 10 }];
    expect(microBatches(long, microBatchPositionCap(qwen05))).toEqual([[0], [1]]);
  });

  it("recomputes blocks where a micro-batch would keep more than 1 GiB", () => {
    expect(recomputeBlocksByDefault(qwen05, microBatchPositionCap(qwen05))).toBe(true);
    expect(recomputeBlocksByDefault({ layers: 2, dim: 32, ffn: 64 }, 8192)).toBe(false);
  });
});

describe("micro-batches with gradient accumulation", () => {
  const data = [seq("Say yes:", " yes"), seq("A much longer prompt that pads the batch a lot:", " no"), seq("Q:", " 4"), seq("Write a word:", " hello there"), seq("Hi", "!")];
  const advantages = [1, -0.5, 0.7, -1.2, 0.3];

  it("groups sequences by length within the token budget", () => {
    const groups = microBatches(data, 60);
    expect(groups.flat().sort()).toEqual([0, 1, 2, 3, 4]);
    for (const g of groups) expect(g.length * Math.max(...g.map((i) => data[i]!.tokens.length))).toBeLessThanOrEqual(Math.max(60, data[g[0]!]!.tokens.length));
    expect(groups[0]).toEqual([1]); // the longest alone
    expect(microBatches(data, 10_000)).toHaveLength(1);
  });

  it.each(["token-mean", "sequence-mean", "token-sum"] as Aggregation[])("one update from micro-batches equals one from the whole batch (%s)", async (aggregation) => {
    const objective: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation, klCoef: 0 } };
    const mode = { kind: "lora", lora: { rank: 4, alpha: 8, targets: ["q", "v", "up"] }, seed: 3 } as const;
    const whole = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 }, optimizer: "js" });
    const split = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 }, microBatchTokens: 40 });
    expect(microBatches(data, 40).length).toBeGreaterThan(2);
    for (let step = 0; step < 2; step++) {
      const a = await whole.update(data, { advantages });
      const b = await split.update(data, { advantages });
      expect(b.loss).toBeCloseTo(a.loss, 5);
      expect(b.gradNorm).toBeCloseTo(a.gradNorm, 5);
      expect(b.logp.map((l) => l.length)).toEqual(a.logp.map((l) => l.length));
    }
    const pa = whole.trainables(), pb = split.trainables();
    for (const k of Object.keys(pa)) for (let i = 0; i < pa[k]!.length; i++) expect(Math.abs(pa[k]![i]! - pb[k]![i]!), k).toBeLessThan(1e-5);
    const la = await whole.logProbs(data), lb = await split.logProbs(data);
    la.forEach((l, s) => l.forEach((v, t) => expect(lb[s]![t]!).toBeCloseTo(v, 5)));
    await whole.dispose();
    await split.dispose();
  });
});

describe("prefix-tree packing", () => {
  // Judgment-like sequences: a long shared preamble, a few candidates, several samples each.
  const preamble = "Examples: 2+2=4 is easy (0.00); 17*23 is hard (0.19); ";
  const data = ["Q: 5+5", "Q: 9*9", "Q: 12-7"].flatMap((q, i) => [" 0.1", " 0.25", " 0"].map((a) => seq(`${preamble}${q}?`, `${a}${i}`)));
  const advantages = data.map((_, i) => ((i * 7) % 5) / 2 - 1);

  it("stores each shared token once, and each sequence's own branch after it", () => {
    const row = packPrefixTree(data);
    const padded = data.length * Math.max(...data.map((d) => d.tokens.length));
    expect(row.width).toBeLessThan(0.3 * padded);
    expect(row.completionColumns.map((c) => c.length)).toEqual(data.map((d) => d.tokens.length - d.completionStart));
    expect(prefixPacks(data, 2048)).toEqual([data.map((_, i) => i).sort((a, b) => (data[a]!.tokens.join() < data[b]!.tokens.join() ? -1 : 1))]);
    expect(prefixPacks([seq("abc", "d"), seq("xyz", "w")], 2048)).toEqual([]); // nothing shared: not worth it
  });

  it("gives each sequence exactly its own log-probs, and the same update as plain micro-batches", async () => {
    const objective: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean", klCoef: 0 } };
    const mode = { kind: "lora", lora: { rank: 4, alpha: 8, targets: ["q", "v", "up"] }, seed: 3 } as const;
    const plain = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 }, microBatchTokens: 4096 });
    const packed = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 }, microBatchTokens: 4096, packPrefixes: true });
    const close = (a: number[][], b: number[][]): void => a.forEach((l, i) => l.forEach((v, t) => expect(Math.abs(b[i]![t]! - v), `${i}:${t}`).toBeLessThan(1e-5)));
    close(await plain.logProbs(data), await packed.logProbs(data));
    for (let step = 0; step < 2; step++) {
      const a = await plain.update(data, { advantages });
      const b = await packed.update(data, { advantages });
      expect(b.loss).toBeCloseTo(a.loss, 5);
      close(a.logp, b.logp);
    }
    const pa = plain.trainables(), pb = packed.trainables();
    for (const k of Object.keys(pa)) for (let i = 0; i < pa[k]!.length; i++) expect(Math.abs(pa[k]![i]! - pb[k]![i]!), k).toBeLessThan(1e-5);
    await plain.dispose();
    await packed.dispose();
  });

  it("keeps every packed row within the width asked for (attention is width²), splitting where it must", () => {
    const whole = packPrefixTree(data).width;
    const cap = Math.ceil(0.75 * whole);
    const groups = prefixPacks(data, cap);
    expect(groups.length).toBeGreaterThan(1);
    for (const g of groups) expect(packPrefixTree(g.map((i) => data[i]!)).width).toBeLessThanOrEqual(cap);
  });

  it("gives the same update when rows are cut narrower than the default", async () => {
    const objective: Objective = { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean", klCoef: 0 } };
    const mode = { kind: "lora", lora: { rank: 4, alpha: 8, targets: ["q", "v", "up"] }, seed: 3 } as const;
    const wide = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 }, microBatchTokens: 4096, packPrefixes: true });
    const narrow = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 }, microBatchTokens: 4096, packPrefixes: true, maxPackedWidth: Math.ceil(0.75 * packPrefixTree(data).width) });
    const a = await wide.update(data, { advantages });
    const b = await narrow.update(data, { advantages });
    expect(b.loss).toBeCloseTo(a.loss, 5);
    const pa = wide.trainables(), pb = narrow.trainables();
    for (const k of Object.keys(pa)) for (let i = 0; i < pa[k]!.length; i++) expect(Math.abs(pa[k]![i]! - pb[k]![i]!), k).toBeLessThan(1e-5);
    await wide.dispose();
    await narrow.dispose();
  });
});
