// LoRA training of a large llama-family model one block at a time. The blocks of a model share one
// structure, so ONE small ONNX graph per block kind (forward, and backward with the block's
// forward recomputed inside) serves every layer, fed that layer's frozen weights and adapter. The
// whole-model graph it replaces grew to ~15 000 nodes on Qwen2.5-0.5B's shape and took ONNX
// Runtime ~40 s to load (superlinear in depth); these take 1–3 s (SmolLM2-360M to Qwen2.5-1.5B shapes).
// Between blocks only the residual stream [B, T, D] is kept: activation checkpointing at block
// boundaries, the same compute as the one graph with recomputed blocks.
import { grad } from "../autodiff.js";
import type { DType } from "../dtype.js";
import { Graph, type Tensor } from "../graph.js";
import { halfToFloat } from "../../gguf/half.js";
import { policyLoss, sftLoss } from "../losses.js";
import { exportModel } from "../onnx-export.js";
import * as o from "../ops.js";
import { OrtProgram, type HostTensor, type ProgramOptions } from "../ort-session.js";
import { addScaled, OptimizerOwner, OptimizerState } from "../optimizer-state.js";
import type { ParamSpec, PolicyTrainer, StepResult, TrainerOptions } from "../trainer.js";
import type { LlamaConfig } from "./llama-config.js";
import { headName, HEAD_CHUNK_ROWS, llamaBlock, llamaHeadLogProbs } from "./llama-graph.js";
import type { LlamaWeights } from "./llama-weights.js";
import type { Objective } from "./policy-model.js";
import { rmsNorm } from "../composites.js";

/** The sessions of one block kind (a distinct set of held dtypes): forward, and backward. */
interface BlockPrograms {
  forward: OrtProgram;
  backward: OrtProgram;
}

/** One layer: its block kind, frozen feeds, and where its adapter's tensors sit among the params. */
interface Layer {
  programs: BlockPrograms;
  frozen: Record<string, HostTensor>;
  /** Projection name in the block ("attn_q") → indices of its A and B among the params. */
  lora: { name: string; a: number; b: number }[];
}

/** Float32 value of every binary16 bit pattern: embedding rows are widened by lookup. */
let halfTable: Float32Array | null = null;
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
  }
  return halfTable;
}

/** Trains a LoRA adapter of a llama-family model block by block (see the file comment). */
export class BlockwiseTrainer extends OptimizerOwner implements PolicyTrainer {
  private constructor(
    private readonly weights: LlamaWeights,
    opt: OptimizerState,
    private readonly layers: Layer[],
    private readonly headTrain: OrtProgram,
    private readonly headLogp: OrtProgram,
    private readonly headFrozen: Record<string, HostTensor>,
    private readonly metricNames: string[],
  ) {
    super(opt);
  }

  /**
   * Sessions for LoRA `params` (named "<blk.N.proj>.lora_a" / ".lora_b", as PolicyModel names
   * them) over the held `weights`, minimising `objective`.
   */
  static async create(weights: LlamaWeights, params: readonly ParamSpec[], loraScale: number, objective: Objective, options: TrainerOptions & { headChunkRows?: number } = {}): Promise<BlockwiseTrainer> {
    const c = weights.config;
    const programOptions: ProgramOptions = { provider: options.provider ?? "cpu", threads: options.threads, memArena: options.memArena ?? false };
    const index = new Map(params.map((p, i) => [p.name, i]));
    const kinds = new Map<string, Promise<BlockPrograms>>();
    const layers: Layer[] = [];
    for (let b = 0; b < c.layers; b++) {
      const prefix = `blk.${b}.`;
      // The layer's tensors by their name inside the block ("attn_q.weight"), as held.
      const rows = weights.rows.filter((r) => r.layer === b).map((r) => ({ name: r.name.slice(prefix.length), shape: r.shape, held: weights.held.get(r.name)!, loraTarget: r.loraTarget }));
      const frozen: Record<string, HostTensor> = Object.fromEntries(rows.map((r) => [`w:${r.name}`, { dtype: r.held.dtype, dims: r.shape, data: r.held.data }]));
      const lora = rows.flatMap((r) => {
        const name = r.name.replace(/\.weight$/, "");
        const a = index.get(`${prefix}${name}.lora_a`);
        return r.loraTarget && a !== undefined ? [{ name, a, b: index.get(`${prefix}${name}.lora_b`)! }] : [];
      });
      const blockRows = rows.map((r) => ({ name: r.name, shape: r.shape, dtype: r.held.dtype }));
      const blockLora = lora.map((l) => ({ name: l.name, a: params[l.a]!.shape, b: params[l.b]!.shape }));
      const signature = JSON.stringify([blockRows.map((r) => [r.name, r.dtype]), blockLora]);
      let kind = kinds.get(signature);
      if (!kind) {
        kind = blockPrograms(c, blockRows, blockLora, loraScale, programOptions);
        kinds.set(signature, kind);
      }
      layers.push({ programs: await kind, frozen, lora });
    }
    if (index.size !== layers.reduce((n, l) => n + 2 * l.lora.length, 0)) throw new Error("block-by-block training takes LoRA parameters of the blocks' projections only");
    const headFrozen: Record<string, HostTensor> = {};
    for (const name of ["output_norm.weight", headName(c)]) {
      const t = weights.held.get(name)!;
      headFrozen[`w:${name}`] = { dtype: t.dtype, dims: weights.rows.find((r) => r.name === name)!.shape, data: t.data };
    }
    const head = headModels(c, headFrozen, objective, options.headChunkRows ?? HEAD_CHUNK_ROWS);
    const [headTrain, headLogp] = await Promise.all([OrtProgram.create(head.train, programOptions), OrtProgram.create(head.logp, programOptions)]);
    return new BlockwiseTrainer(weights, new OptimizerState(params, options.hyper), layers, headTrain, headLogp, headFrozen, head.metricNames);
  }

  get provider(): string {
    return this.headTrain.provider;
  }


  /** Feeds of layer `b` apart from its input: frozen weights, adapter, RoPE tables and mask. */
  private layerFeeds(b: number, batch: Readonly<Record<string, HostTensor>>): Record<string, HostTensor> {
    const layer = this.layers[b]!;
    const feeds: Record<string, HostTensor> = { ...layer.frozen, cos: batch.cos!, sin: batch.sin!, mask: batch.attentionMask! };
    for (const l of layer.lora) {
      feeds[`a:${l.name}`] = { dtype: "float32", dims: this.opt.specs[l.a]!.shape, data: this.opt.slots[l.a]!.param };
      feeds[`b:${l.name}`] = { dtype: "float32", dims: this.opt.specs[l.b]!.shape, data: this.opt.slots[l.b]!.param };
    }
    return feeds;
  }

  /** The embedding rows of the batch's tokens, [B, T, D] float32. */
  private embed(tokens: HostTensor): HostTensor {
    const d = this.weights.config.dim;
    const held = this.weights.held.get("token_embd.weight")!;
    const ids = tokens.data;
    const out = new Float32Array(ids.length * d);
    const table = held.dtype === "float16" ? halfToFloatTable() : null;
    for (let i = 0; i < ids.length; i++) {
      const row = Number(ids[i]) * d;
      if (table) for (let k = 0; k < d; k++) out[i * d + k] = table[(held.data as Uint16Array)[row + k]!]!;
      else out.set((held.data as Float32Array).subarray(row, row + d), i * d);
    }
    return { dtype: "float32", dims: [...tokens.dims, d], data: out };
  }

  /** Every block boundary of the batch: the embeddings, then each block's output. */
  private async residuals(batch: Readonly<Record<string, HostTensor>>): Promise<HostTensor[]> {
    const xs = [this.embed(batch.tokens!)];
    for (let b = 0; b < this.layers.length; b++) {
      const out = await this.layers[b]!.programs.forward.run({ ...this.layerFeeds(b, batch), x: xs[b]! });
      xs.push(out.y!);
    }
    return xs;
  }

  /** Data feeds of the head that `batch` carries. */
  private headFeeds(batch: Readonly<Record<string, HostTensor>>, h: HostTensor): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = { ...this.headFrozen, h };
    for (const k of ["targets", "lossMask", "advantages", "oldLogp", "refLogp"]) if (batch[k]) feeds[k] = batch[k]!;
    return feeds;
  }

  /** One update on one batch. */
  async trainStep(batch: Readonly<Record<string, HostTensor>>): Promise<StepResult> {
    return this.accumulateStep([batch], [1]);
  }

  /**
   * One AdamW update from several micro-batches, gradients summed with `weights` (each
   * micro-batch's share of the whole batch's normaliser), as Trainer.accumulateStep.
   */
  async accumulateStep(batches: readonly Readonly<Record<string, HostTensor>>[], weights: readonly number[]): Promise<StepResult & { outputsPerBatch: Record<string, HostTensor>[] }> {
    return this.accumulate(batches, weights, this.metricNames, async (batch, sums, w) => {
      const xs = await this.residuals(batch);
      const head = await this.headTrain.run(this.headFeeds(batch, xs[this.layers.length]!));
      let dy = head.dh!;
      for (let b = this.layers.length - 1; b >= 0; b--) {
        const layer = this.layers[b]!;
        const out = await layer.programs.backward.run({ ...this.layerFeeds(b, batch), x: xs[b]!, dy });
        for (const l of layer.lora) {
          addScaled(sums[l.a]!, out[`ga:${l.name}`]!.data as Float32Array, w);
          addScaled(sums[l.b]!, out[`gb:${l.name}`]!.data as Float32Array, w);
        }
        dy = out.dx!;
      }
      return { loss: Number(head.loss!.data[0]), metrics: Object.fromEntries(this.metricNames.map((k) => [k, Number(head[`metric:${k}`]!.data[0])])), outputs: { logp: head.logp! } };
    });
  }

  /** Per-token log-probs of the batch's targets under the current weights ({ logp }). */
  async outputs(batch: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const xs = await this.residuals(batch);
    const out = await this.headLogp.run({ ...this.headFrozen, h: xs[this.layers.length]!, targets: batch.targets! });
    return { logp: out.logp! };
  }

  /** Release the sessions. Safe to call more than once. */
  async dispose(): Promise<void> {
    const programs = new Set<OrtProgram>([this.headTrain, this.headLogp]);
    for (const l of this.layers) programs.add(l.programs.forward).add(l.programs.backward);
    await Promise.all([...programs].map((p) => p.dispose()));
  }
}

/** A frozen input widened to float32 inside the graph; the float32 copy is rebuilt in the backward pass. */
function widen(t: Tensor): Tensor {
  return t.dtype === "float32" ? t : t.graph.recompute(o.cast(t, "float32"));
}

/** The forward and backward sessions of one block kind. */
async function blockPrograms(
  c: LlamaConfig,
  rows: readonly { name: string; shape: readonly number[]; dtype: DType }[],
  lora: readonly { name: string; a: readonly number[]; b: readonly number[] }[],
  loraScale: number,
  programOptions: ProgramOptions,
): Promise<BlockPrograms> {
  const g = new Graph();
  const x = g.input("x", ["B", "T", c.dim], "float32");
  const cos = g.input("cos", ["T", c.headDim / 2], "float32");
  const sin = g.input("sin", ["T", c.headDim / 2], "float32");
  const mask = g.input("mask", ["B", 1, "T", "T"], "float32");
  const frozen = new Map(rows.map((r) => [r.name, widen(g.input(`w:${r.name}`, r.shape, r.dtype))]));
  const pairs = new Map(lora.map((l) => [l.name, { a: g.input(`a:${l.name}`, l.a, "float32"), b: g.input(`b:${l.name}`, l.b, "float32") }]));
  const weight = (name: string): Tensor => {
    const t = frozen.get(name);
    if (!t) throw new Error(`a block asked for an unknown tensor ${name}`);
    return t;
  };
  const y = llamaBlock(c, weight, (name) => pairs.get(name) ?? null, loraScale, x, { cos, sin, mask });
  const dy = g.input("dy", ["B", "T", c.dim], "float32");
  const wrt = [x, ...[...pairs.values()].flatMap((p) => [p.a, p.b])];
  const grads = grad(o.reduceSum(o.mul(y, dy), [0, 1, 2], false), wrt);
  const backwardOutputs: Record<string, Tensor> = { dx: grads[0]! };
  [...pairs.keys()].forEach((name, i) => {
    backwardOutputs[`ga:${name}`] = grads[1 + 2 * i]!;
    backwardOutputs[`gb:${name}`] = grads[2 + 2 * i]!;
  });
  const [forward, backward] = await Promise.all([
    OrtProgram.create(exportModel(g, { y }, { name: "block-forward" }), programOptions),
    OrtProgram.create(exportModel(g, backwardOutputs, { name: "block-backward" }), programOptions),
  ]);
  return { forward, backward };
}

/**
 * The head's graphs: output norm, LM head in vocabulary chunks, the objective and its gradient
 * with respect to the last block's output ("train"); the log-probs alone ("logp").
 */
function headModels(c: LlamaConfig, frozen: Readonly<Record<string, HostTensor>>, objective: Objective, chunkRows: number): { train: ReturnType<typeof exportModel>; logp: ReturnType<typeof exportModel>; metricNames: string[] } {
  const g = new Graph();
  const h = g.input("h", ["B", "T", c.dim], "float32");
  const inputs = new Map(Object.entries(frozen).map(([k, t]) => [k.slice(2), widen(g.input(k, t.dims, t.dtype))]));
  const weight = (name: string): Tensor => inputs.get(name) ?? (() => { throw new Error(`the head asked for an unknown tensor ${name}`); })();
  const targets = g.input("targets", ["B", "T"], "int64");
  const lossMask = g.input("lossMask", ["B", "T"], "float32");
  const logp = llamaHeadLogProbs(c, weight, rmsNorm(h, weight("output_norm.weight"), c.rmsEps), targets, chunkRows);
  let out;
  if (objective.kind === "sft") out = sftLoss(logp, lossMask);
  else {
    const advantages = g.input("advantages", ["B", "T"], "float32");
    const oldLogp = g.input("oldLogp", ["B", "T"], "float32");
    const refLogp = objective.policy.klCoef !== 0 ? g.input("refLogp", ["B", "T"], "float32") : null;
    out = policyLoss(logp, oldLogp, advantages, lossMask, refLogp, objective.policy);
  }
  const [dh] = grad(out.loss, [h]);
  const metrics = out.metrics ?? {};
  const trainOutputs: Record<string, Tensor> = { loss: out.loss, logp, dh: dh! };
  for (const [k, v] of Object.entries(metrics)) trainOutputs[`metric:${k}`] = v;
  return { train: exportModel(g, trainOutputs, { name: "head-train" }), logp: exportModel(g, { logp }, { name: "head-logp" }), metricNames: Object.keys(metrics) };
}
