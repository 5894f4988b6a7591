// A llama-family policy being trained: the model graph, LoRA or full-parameter trainables, the
// objective (GRPO family or SFT), AdamW, and the host-side batch preparation.
import type { DType } from "../dtype.js";
import type { Graph, Tensor } from "../graph.js";
import * as o from "../ops.js";
import { policyLoss, sftLoss, type LossOutput, type PolicyLossOptions } from "../losses.js";
import type { HostTensor } from "../ort-session.js";
import { Trainer, type FrozenSpec, type ParamSpec, type PolicyTrainer, type StepResult, type TrainerOptions, type TrainSpec } from "../trainer.js";
import { BlockwiseTrainer } from "./blockwise-trainer.js";
import { llamaRopeTables } from "./llama-batch.js";
import type { LlamaConfig } from "./llama-config.js";
import { blockwiseByDefault, blockwisePositionCap, HEAD_CHUNK_ROWS, llamaTokenLogProbs, microBatchPositionCap, recomputeBlocksByDefault, type LlamaBatchInputs, type LoraSource, type WeightSource } from "./llama-graph.js";
import { heldBytes, ropeFreqs, weightF32, weightsF32, type LlamaWeights } from "./llama-weights.js";
import { initLora, type LoraConfig, type LoraPair } from "./lora.js";
import { alignCompletionValues, completionValues, policyBatch, type PolicySequence } from "./policy-batch.js";
import { alignPacked, MAX_PACKED_WIDTH, packedValues, packPrefixTree, paddedSize } from "./policy-pack.js";

/** What is trained: a LoRA adapter over frozen weights, or every weight. */
export type TrainableMode = { kind: "lora"; lora: LoraConfig; seed: number } | { kind: "full" };
/** What is minimised. */
export type Objective = { kind: "grpo"; policy: PolicyLossOptions } | { kind: "sft" };

/** Tensors of the objective graph beyond the model's own inputs. */
export interface ObjectiveInputs {
  targets: Tensor; // [B, T] int64
  lossMask: Tensor; // [B, T]
  advantages: Tensor | null; // [B]
  oldLogp: Tensor | null; // [B, T]
  refLogp: Tensor | null; // [B, T]
}

/**
 * The objective on top of the model: shared by training and the gradient checks. The LM head is
 * applied in vocabulary chunks of `headChunkRows` (llamaTokenLogProbs).
 */
export function buildObjective(c: LlamaConfig, weight: WeightSource, lora: LoraSource, loraScale: number, model: LlamaBatchInputs, x: ObjectiveInputs, objective: Objective, headChunkRows = HEAD_CHUNK_ROWS, recomputeBlocks = false, recomputeWeights = true): LossOutput & { logp: Tensor } {
  const logp = llamaTokenLogProbs(c, weight, lora, loraScale, model, x.targets, headChunkRows, recomputeBlocks, recomputeWeights); // [B, T]
  if (objective.kind === "sft") return { ...sftLoss(logp, x.lossMask), logp };
  if (!x.advantages || !x.oldLogp) throw new Error("the GRPO objective needs advantages and old log-probs");
  return { ...policyLoss(logp, x.oldLogp, x.advantages, x.lossMask, x.refLogp, objective.policy), logp };
}

/** Graph inputs of the objective (names prefixed "data:" by the Trainer). */
export function objectiveData(c: LlamaConfig, objective: Objective, dtype: DType = "float32"): TrainSpec["data"] {
  const data: { name: string; shape: (string | number)[]; dtype: DType }[] = [
    { name: "tokens", shape: ["B", "T"], dtype: "int64" },
    { name: "cos", shape: ["T", c.headDim / 2], dtype },
    { name: "sin", shape: ["T", c.headDim / 2], dtype },
    { name: "attentionMask", shape: ["B", 1, "T", "T"], dtype },
    { name: "targets", shape: ["B", "T"], dtype: "int64" },
    { name: "lossMask", shape: ["B", "T"], dtype },
  ];
  if (objective.kind === "grpo") {
    // Per token: a packed row carries several completions, each with its own advantage.
    data.push({ name: "advantages", shape: ["B", "T"], dtype }, { name: "oldLogp", shape: ["B", "T"], dtype });
    if (objective.policy.klCoef !== 0) data.push({ name: "refLogp", shape: ["B", "T"], dtype });
  }
  return data;
}

/** Per-sequence signals of a GRPO update. */
export interface PolicySignals {
  /** One per sequence. */
  advantages: readonly number[];
  /** Log-probs of each completion token under the policy that sampled it; recomputed when omitted. */
  oldLogp?: readonly (readonly number[])[];
  /** Under the reference policy (needed when klCoef ≠ 0). */
  refLogp?: readonly (readonly number[])[];
}

/**
 * Micro-batches of `sequences` (as index lists): sorted by length, longest first, each cut so that
 * its rows × padded width stays within `tokenBudget` (a single longer sequence is a batch alone).
 * Sequences of similar length train together, so short completions are not padded to the length
 * of a long judgment prompt.
 */
export function microBatches(sequences: readonly PolicySequence[], tokenBudget: number): number[][] {
  const order = sequences.map((s, i) => [s.tokens.length, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const out: number[][] = [];
  let current: number[] = [];
  let width = 0;
  for (const [length, i] of order) {
    // Sorted longest first: the batch's width is its first sequence's length.
    const w = current.length === 0 ? length : width;
    if (current.length > 0 && (current.length + 1) * w > tokenBudget) {
      out.push(current);
      current = [];
    }
    if (current.length === 0) width = length;
    current.push(i);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Each sequence's advantage repeated over its completion tokens. */
function perTokenAdvantages(sequences: readonly PolicySequence[], advantages: readonly number[]): number[][] {
  return sequences.map((s, i) => new Array<number>(s.tokens.length - s.completionStart).fill(advantages[i]!));
}

/** Options of a policy beyond the trainer's. */
export interface PolicyOptions extends TrainerOptions {
  /**
   * Padded token positions per micro-batch: a larger batch is split by length and its gradients
   * accumulated into one update (bounds activation memory; avoids padding short sequences to long
   * ones). Unset: one batch, optimizer in the graph.
   */
  microBatchTokens?: number;
  /**
   * With micro-batches and token-mean aggregation: sequences sharing prompt prefixes are packed as
   * prefix trees (each shared token computed once) where that saves at least 30 % of the padded
   * positions.
   */
  packPrefixes?: boolean;
  /** The widest packed row in positions (its attention mask is width²); default MAX_PACKED_WIDTH. */
  maxPackedWidth?: number;
  /** Vocabulary rows per chunk of the LM head (default HEAD_CHUNK_ROWS); smaller in tests. */
  headChunkRows?: number;
  /**
   * Recompute each block's activations in the backward pass (llamaHidden); default:
   * recomputeBlocksByDefault at the micro-batch budget (2 048 positions for one whole batch).
   */
  recomputeBlocks?: boolean;
  /**
   * LoRA only: train block by block (BlockwiseTrainer: one small graph per block kind instead of
   * one graph of the whole model; always micro-batched). Default: when the held base weights
   * exceed 256 MiB, where the whole-model graph takes ONNX Runtime tens of seconds to load.
   */
  blockwise?: boolean;
}

/** Held base weights above which training graphs are built memory-lean (see PolicyModel.create). */
const LEAN_ABOVE_BYTES = 256 * 2 ** 20;


/**
 * Groups of sequences worth packing: in lexicographic order (shared prefixes adjacent), each
 * group as wide as `maxWidth` allows, kept when its packed width is under 70 % of its padded size.
 */
export function prefixPacks(sequences: readonly PolicySequence[], maxWidth: number): number[][] {
  const order = sequences.map((_, i) => i).sort((a, b) => {
    const x = sequences[a]!.tokens, y = sequences[b]!.tokens;
    for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k]! - y[k]!;
    return x.length - y.length || a - b;
  });
  const groups: number[][] = [];
  let group: number[] = [];
  let trie = new Map<number, unknown>();
  let width = 0;
  /** Columns `s` adds to the current trie (its new prompt-prefix nodes, then its own branch). */
  const insert = (s: PolicySequence, commit: boolean): number => {
    let node = trie as Map<number, Map<number, unknown>>;
    let added = 0;
    for (let t = 0; t < s.completionStart - 1; t++) {
      let next = node.get(s.tokens[t]!);
      if (!next) {
        added++;
        next = new Map();
        if (commit) node.set(s.tokens[t]!, next);
        else {
          added += s.completionStart - 2 - t; // the rest of the prefix is new too
          break;
        }
      }
      node = next as Map<number, Map<number, unknown>>;
    }
    return added + s.tokens.length - s.completionStart + 1;
  };
  const close = (): void => {
    const padded = paddedSize(group.map((i) => sequences[i]!));
    if (group.length > 1 && width < 0.7 * padded) groups.push(group);
    group = [];
    trie = new Map();
    width = 0;
  };
  for (const i of order) {
    const s = sequences[i]!;
    if (group.length > 0 && width + insert(s, false) > maxWidth) close();
    width += insert(s, true);
    group.push(i);
  }
  if (group.length > 0) close();
  return groups;
}

/** A policy under training. */
export class PolicyModel {
  private constructor(
    readonly weights: LlamaWeights,
    readonly mode: TrainableMode,
    readonly objective: Objective,
    private readonly trainer: PolicyTrainer,
    private readonly loraShapes: Map<string, { nIn: number; nOut: number }>,
    private readonly microBatchTokens: number | null,
    private readonly packPrefixes: boolean,
    private readonly maxPackedWidth: number,
  ) {}

  /** Build graphs and sessions for `weights` trained in `mode` on `objective`. */
  static async create(weights: LlamaWeights, mode: TrainableMode, objective: Objective, options: PolicyOptions = {}): Promise<PolicyModel> {
    const c = weights.config;
    const params: ParamSpec[] = [];
    const loraShapes = new Map<string, { nIn: number; nOut: number }>();
    let scale = 0;
    if (mode.kind === "lora") {
      scale = mode.lora.alpha / mode.lora.rank;
      for (const p of initLora(c, mode.lora, mode.seed)) {
        loraShapes.set(p.base, { nIn: p.nIn, nOut: p.nOut });
        params.push({ name: `${p.base}.lora_a`, shape: [mode.lora.rank, p.nIn], init: p.a });
        params.push({ name: `${p.base}.lora_b`, shape: [p.nOut, mode.lora.rank], init: p.b });
      }
    } else {
      for (const row of weights.rows) params.push({ name: row.name, shape: row.shape, init: weightF32(weights, row.name) });
    }
    const { microBatchTokens: asked, packPrefixes = false, maxPackedWidth = MAX_PACKED_WIDTH, headChunkRows = HEAD_CHUNK_ROWS, blockwise = mode.kind === "lora" && blockwiseByDefault(heldBytes(weights)), ...rest } = options;
    if (asked !== undefined && !(Number.isInteger(asked) && asked > 0)) throw new Error(`microBatchTokens must be a positive integer, found ${asked}`);
    if (blockwise) {
      if (mode.kind !== "lora") throw new Error("block-by-block training is for LoRA adapters; full-parameter training uses one graph");
      // Micro-batches never hold more positions than one block's activations allow.
      const positions = Math.min(asked ?? Number.MAX_SAFE_INTEGER, blockwisePositionCap(c));
      const trainer = await BlockwiseTrainer.create(weights, params, scale, objective, { ...rest, headChunkRows });
      return new PolicyModel(weights, mode, objective, trainer, loraShapes, positions, packPrefixes, maxPackedWidth);
    }
    // LoRA: the base weights are graph inputs fed from the one held copy (shared by every session
    // and by a reference policy over the same weights), float16 ones widened inside the graph.
    const frozenSpecs: FrozenSpec[] = mode.kind === "full" ? [] : weights.rows.map((row) => {
      const t = weights.held.get(row.name)!;
      return { name: row.name, shape: row.shape, dtype: t.dtype, data: t.data };
    });
    // Micro-batches never hold more positions than the model's activation cap (exact: gradients accumulate).
    const microBatchTokens = asked === undefined ? undefined : Math.min(asked, microBatchPositionCap(c));
    const { recomputeBlocks = recomputeBlocksByDefault(c, microBatchTokens ?? 2048), ...trainerOptions } = rest;
    // Memory-lean graphs (weights' float32 forms rebuilt in the backward pass, so no graph-wide
    // common-subexpression pass; ORT's arena off) pay for themselves only on large models: on the
    // built-in model they made a METIS update 2.6× slower (bench/results/step-cost-*.json).
    const lean = recomputeBlocks || heldBytes(weights) > LEAN_ABOVE_BYTES;
    if (trainerOptions.memArena === undefined) trainerOptions.memArena = !lean;
    const spec: TrainSpec = {
      params,
      data: objectiveData(c, objective),
      frozen: frozenSpecs,
      build: (g: Graph, p, d, f) => {
        const widened = new Map<string, Tensor>();
        const weight: WeightSource = (name) => {
          if (mode.kind === "full") return p[name]!;
          let t = widened.get(name);
          if (!t) {
            const input = f[name];
            if (!input) throw new Error(`${weights.path}: the graph asked for an unknown tensor ${name}`);
            // The float32 copy is transient: rebuilt in the backward pass, not kept from the forward.
            t = input.dtype === "float32" ? input : lean ? g.recompute(o.cast(input, "float32")) : o.cast(input, "float32");
            widened.set(name, t);
          }
          return t;
        };
        const lora: LoraSource = (base) => (loraShapes.has(base) ? { a: p[`${base}.lora_a`]!, b: p[`${base}.lora_b`]! } : null);
        const out = buildObjective(c, weight, lora, scale, { tokens: d.tokens!, cos: d.cos!, sin: d.sin!, mask: d.attentionMask! }, {
          targets: d.targets!, lossMask: d.lossMask!, advantages: d.advantages ?? null, oldLogp: d.oldLogp ?? null, refLogp: d.refLogp ?? null,
        }, objective, headChunkRows, recomputeBlocks, lean);
        return { loss: out.loss, metrics: out.metrics, outputs: { logp: out.logp } };
      },
    };
    const trainer = await Trainer.create(spec, microBatchTokens ? { ...trainerOptions, optimizer: "js" } : trainerOptions);
    return new PolicyModel(weights, mode, objective, trainer, loraShapes, microBatchTokens ?? null, packPrefixes, maxPackedWidth);
  }

  private modelFeeds(sequences: readonly PolicySequence[]): { feeds: Record<string, HostTensor>; batch: ReturnType<typeof policyBatch> } {
    const batch = policyBatch(sequences);
    const { cos, sin } = llamaRopeTables(this.weights.config, batch.width, ropeFreqs(this.weights));
    return { batch, feeds: { tokens: batch.tokens, cos, sin, attentionMask: batch.attentionMask, targets: batch.targets, lossMask: batch.lossMask } };
  }

  /** Log-probs of each completion token under the current weights. */
  async logProbs(sequences: readonly PolicySequence[]): Promise<number[][]> {
    const out = new Array<number[]>(sequences.length);
    for (const part of this.plan(sequences)) {
      const mb = this.microBatchFeeds(sequences, part);
      const values = mb.read((await this.trainer.outputs(mb.feeds)).logp!.data as Float32Array);
      part.indices.forEach((i, k) => (out[i] = values[k]!));
    }
    return out;
  }

  /** How a batch is cut: length-sorted padded micro-batches, and (when enabled) prefix-tree packed rows. */
  private plan(sequences: readonly PolicySequence[]): { indices: number[]; packed: boolean }[] {
    if (!this.microBatchTokens) return [{ indices: sequences.map((_, i) => i), packed: false }];
    const packable = this.packPrefixes && (this.objective.kind === "sft" || this.objective.policy.aggregation === "token-mean");
    const packs = packable ? prefixPacks(sequences, Math.min(this.microBatchTokens, this.maxPackedWidth)) : [];
    const packed = new Set(packs.flat());
    const rest = sequences.map((_, i) => i).filter((i) => !packed.has(i));
    const plain = microBatches(rest.map((i) => sequences[i]!), this.microBatchTokens).map((g) => g.map((k) => rest[k]!));
    return [...packs.map((indices) => ({ indices, packed: true })), ...plain.map((indices) => ({ indices, packed: false }))];
  }

  /** Feeds of one micro-batch, and how to place per-sequence values on it and read them back. */
  private microBatchFeeds(sequences: readonly PolicySequence[], part: { indices: number[]; packed: boolean }): {
    feeds: Record<string, HostTensor>;
    align: (perSequence: readonly (readonly number[])[]) => HostTensor;
    read: (values: ArrayLike<number>) => number[][];
  } {
    const seqs = part.indices.map((i) => sequences[i]!);
    if (!part.packed) {
      const { feeds, batch } = this.modelFeeds(seqs);
      return { feeds, align: (v) => alignCompletionValues(v, batch), read: (v) => completionValues(v, batch) };
    }
    const row = packPrefixTree(seqs);
    const freqs = ropeFreqs(this.weights);
    const table = llamaRopeTables(this.weights.config, Math.max(...row.positions) + 1, freqs);
    const half = this.weights.config.headDim / 2;
    const gather = (t: HostTensor): HostTensor => {
      const src = t.data as Float32Array;
      const out = new Float32Array(row.width * half);
      row.positions.forEach((p, c) => out.set(src.subarray(p * half, (p + 1) * half), c * half));
      return { dtype: "float32", dims: [row.width, half], data: out };
    };
    const feeds = { tokens: row.tokens, cos: gather(table.cos), sin: gather(table.sin), attentionMask: row.attentionMask, targets: row.targets, lossMask: row.lossMask };
    return { feeds, align: (v) => alignPacked(v, row), read: (v) => packedValues(v, row) };
  }

  /**
   * One optimizer step. For GRPO, `signals` carries advantages (and optionally old/ref log-probs).
   * With micro-batches, their gradients are accumulated into the one update.
   */
  async update(sequences: readonly PolicySequence[], signals: PolicySignals | null = null): Promise<StepResult & { logp: number[][] }> {
    if (this.objective.kind === "grpo" && (!signals || signals.advantages.length !== sequences.length)) throw new Error(`GRPO needs one advantage per sequence (${sequences.length})`);
    const parts = this.plan(sequences);
    const oldLogp = this.objective.kind === "grpo" ? (signals!.oldLogp ?? (await this.logProbs(sequences))) : null;
    const built = parts.map((part) => {
      const mb = this.microBatchFeeds(sequences, part);
      const pick = <T>(values: readonly T[]): T[] => part.indices.map((i) => values[i]!);
      if (this.objective.kind === "grpo") {
        mb.feeds.advantages = mb.align(perTokenAdvantages(pick(sequences), pick(signals!.advantages)));
        mb.feeds.oldLogp = mb.align(pick(oldLogp!));
        if (this.objective.policy.klCoef !== 0) {
          if (!signals!.refLogp) throw new Error("klCoef is set: pass reference log-probs (refLogp)");
          mb.feeds.refLogp = mb.align(pick(signals!.refLogp));
        }
      }
      return mb;
    });
    let result: StepResult;
    let outputsPerBatch: Record<string, HostTensor>[];
    if (this.microBatchTokens) {
      const completionTokens = (i: number): number => sequences[i]!.tokens.length - sequences[i]!.completionStart;
      const totalTokens = sequences.reduce((n, _, i) => n + completionTokens(i), 0);
      // Each micro-batch's loss is normalised over its own tokens (token-mean) or sequences (the
      // others; never packed): weighting by its share of the whole batch's normaliser sums to the
      // whole gradient.
      const byTokens = this.objective.kind === "sft" || this.objective.policy.aggregation === "token-mean";
      const weights = parts.map((p) => (byTokens ? p.indices.reduce((n, i) => n + completionTokens(i), 0) / Math.max(1, totalTokens) : p.indices.length / sequences.length));
      const accumulated = await this.trainer.accumulateStep(built.map((b) => b.feeds), weights);
      result = accumulated;
      outputsPerBatch = accumulated.outputsPerBatch;
    } else {
      result = await this.trainer.trainStep(built[0]!.feeds);
      outputsPerBatch = [result.outputs];
    }
    const logp = new Array<number[]>(sequences.length);
    parts.forEach((part, g) => {
      const values = built[g]!.read(outputsPerBatch[g]!.logp!.data as Float32Array);
      part.indices.forEach((i, k) => (logp[i] = values[k]!));
    });
    return { loss: result.loss, gradNorm: result.gradNorm, metrics: result.metrics, outputs: result.outputs, logp };
  }

  /** Padded positions per micro-batch in force (null: one batch, no micro-batching). */
  get microBatchPositions(): number | null {
    return this.microBatchTokens;
  }

  /** How the update is computed: block by block (BlockwiseTrainer) or as one graph of the whole model. */
  get trainerKind(): "blockwise" | "one-graph" {
    return this.trainer instanceof BlockwiseTrainer ? "blockwise" : "one-graph";
  }

  /** Steps taken. */
  get step(): number {
    return this.trainer.step;
  }

  /** Trainable tensors by name (LoRA: "<base>.lora_a"/"<base>.lora_b"; full: GGUF names). Live views. */
  trainables(): Record<string, Float32Array> {
    return this.trainer.params();
  }

  /** The trainer (checkpoints use its state). */
  get engine(): PolicyTrainer {
    return this.trainer;
  }

  /** The current adapter (LoRA mode). */
  loraPairs(): LoraPair[] {
    if (this.mode.kind !== "lora") throw new Error("the model is trained in full-parameter mode: there is no adapter");
    const p = this.trainer.params();
    return [...this.loraShapes].map(([base, s]) => ({ base, nIn: s.nIn, nOut: s.nOut, a: Float32Array.from(p[`${base}.lora_a`]!), b: Float32Array.from(p[`${base}.lora_b`]!) }));
  }

  /** Current full weights as float32 (full mode: the trained ones; LoRA mode: a copy of the frozen base). */
  currentWeights(): Map<string, Float32Array> {
    if (this.mode.kind === "lora") return weightsF32(this.weights);
    const p = this.trainer.params();
    return new Map(this.weights.rows.map((r) => [r.name, Float32Array.from(p[r.name]!)]));
  }

  /** Release sessions. Safe to call more than once. */
  dispose(): Promise<void> {
    return this.trainer.dispose();
  }
}
