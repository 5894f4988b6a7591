// A training loop's engine: a loss graph over named trainable parameters, its gradients by
// autodiff, and AdamW — in JS over the gradients, or inside the graph — run by ONNX Runtime.
import { adamwGraph, type AdamWHyper, type AdamWSlot } from "./adamw.js";
import { grad } from "./autodiff.js";
import type { DType } from "./dtype.js";
import { Graph, type Tensor } from "./graph.js";
import { exportModel } from "./onnx-export.js";
import { OrtProgram, type ExecutionProvider, type HostTensor } from "./ort-session.js";
import type { Dim } from "./shape.js";
import { addScaled, OptimizerOwner, OptimizerState } from "./optimizer-state.js";

/** A trainable tensor and its initial values. */
export interface ParamSpec {
  name: string;
  shape: readonly number[];
  init: Float32Array;
}

/**
 * A frozen tensor fed to every run from one host buffer: graph input "frozen:<name>". Sessions
 * hold no copy of it (an initializer would be copied into each session, and pre-packed again by
 * its MatMul kernels), so the forward, step and outputs sessions of a model share these bytes.
 */
export interface FrozenSpec {
  name: string;
  shape: readonly number[];
  dtype: DType;
  data: HostTensor["data"];
}

/** What a model contributes: its parameters, its data inputs, and how the loss is computed. */
export interface TrainSpec {
  params: readonly ParamSpec[];
  data: readonly { name: string; shape: readonly Dim[]; dtype: DType }[];
  /** Frozen tensors fed as inputs (see FrozenSpec); constants (g.constant) are the other way in. */
  frozen?: readonly FrozenSpec[];
  /**
   * Build the loss (a scalar), optional scalar metrics, and optional intermediates to return
   * (e.g. per-token log-probs). Frozen tensors arrive in `frozen`, by name.
   */
  build: (
    g: Graph,
    params: Readonly<Record<string, Tensor>>,
    data: Readonly<Record<string, Tensor>>,
    frozen: Readonly<Record<string, Tensor>>,
  ) => { loss: Tensor; metrics?: Record<string, Tensor>; outputs?: Record<string, Tensor> };
}

/**
 * Where the optimizer runs: "graph" (AdamW nodes in the ONNX graph; the default: 2–3 % faster per
 * step in bench/results/train-op-*.json, as gradients never leave ORT) or "js" (gradients come
 * out and AdamW runs in JS: the form gradient accumulation over micro-batches needs).
 */
export type OptimizerPlacement = "js" | "graph";

export interface TrainerOptions {
  optimizer?: OptimizerPlacement;
  hyper?: Partial<AdamWHyper>;
  provider?: ExecutionProvider;
  threads?: number;
  /**
   * ORT's CPU memory arena (ProgramOptions.memArena), off by default: on a 2-layer
   * Qwen2.5-0.5B-shaped model (151 936 vocabulary) an 8 × 256 update peaked 3.2 GB with it and
   * grew to 4.9 GB on the second update (the arena keeps its high-water mark and extends in powers
   * of two), 2.6 and 3.0 GB without it, no slower. Small models are faster with it: PolicyModel
   * turns it on for them (see its LEAN_ABOVE_BYTES).
   */
  memArena?: boolean;
  /** Constants at least this large are stored as ONNX external data (protobuf caps a model at 2 GiB). */
  externalThresholdBytes?: number;
}

/** The result of one step. */
export interface StepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
  /** The intermediates the spec asked for. */
  outputs: Record<string, HostTensor>;
}

/**
 * What a policy, checkpoints and the divergence guard use of a trainer: the one-graph Trainer and
 * the block-by-block one (llama/blockwise-trainer.ts) both provide it.
 */
export interface PolicyTrainer {
  readonly step: number;
  readonly hyper: AdamWHyper;
  readonly provider: string;
  setLearningRate(lr: number): void;
  params(): Record<string, Float32Array>;
  state(): { step: number; slots: readonly AdamWSlot[] };
  restore(step: number, values: ReadonlyMap<string, { param: Float32Array; m: Float32Array; v: Float32Array }>): void;
  trainStep(batch: Readonly<Record<string, HostTensor>>): Promise<StepResult>;
  accumulateStep(batches: readonly Readonly<Record<string, HostTensor>>[], weights: readonly number[]): Promise<StepResult & { outputsPerBatch: Record<string, HostTensor>[] }>;
  outputs(batch: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>>;
  dispose(): Promise<void>;
}

const scalarOf = (t: HostTensor): number => Number(t.data[0]);

/** Trains float32 parameters of a TrainSpec with AdamW. */
export class Trainer extends OptimizerOwner implements PolicyTrainer {
  private constructor(
    private readonly spec: TrainSpec,
    opt: OptimizerState,
    private readonly stepProgram: OrtProgram,
    private readonly forwardProgram: OrtProgram,
    private readonly outputsProgram: OrtProgram | null,
    private readonly placement: OptimizerPlacement,
    private readonly metricNames: string[],
    private readonly outputNames: string[],
    /** Bytes of constants each session was created with (ExportedModel.constantBytes). */
    readonly constantBytes: { step: number; forward: number; outputs: number },
  ) {
    super(opt);
  }

  /** Build the graphs and sessions. */
  static async create(spec: TrainSpec, options: TrainerOptions = {}): Promise<Trainer> {
    const opt = new OptimizerState(spec.params, options.hyper);
    const hyper = opt.hyper;
    const placement = options.optimizer ?? "graph";
    const g = new Graph();
    const params: Record<string, Tensor> = {};
    for (const p of spec.params) params[p.name] = g.input(`param:${p.name}`, p.shape, "float32");
    const data: Record<string, Tensor> = {};
    for (const d of spec.data) data[d.name] = g.input(`data:${d.name}`, d.shape, d.dtype);
    const frozen: Record<string, Tensor> = {};
    for (const f of spec.frozen ?? []) frozen[f.name] = g.input(`frozen:${f.name}`, f.shape, f.dtype);
    const { loss, metrics = {}, outputs = {} } = spec.build(g, params, data, frozen);
    const paramTensors = spec.params.map((p) => params[p.name]!);
    const grads = grad(loss, paramTensors);
    const metricOutputs = Object.fromEntries([
      ...Object.entries(metrics).map(([k, v]) => [`metric:${k}`, v] as const),
      ...Object.entries(outputs).map(([k, v]) => [`out:${k}`, v] as const),
    ]);

    const stepOutputs: Record<string, Tensor> = { loss, ...metricOutputs };
    if (placement === "js") {
      spec.params.forEach((p, i) => (stepOutputs[`grad:${p.name}`] = grads[i]!));
    } else {
      const step = g.input("opt:step", [], "float32");
      const lr = g.input("opt:lr", [], "float32");
      const slots = spec.params.map((p, i) => ({ param: paramTensors[i]!, m: g.input(`m:${p.name}`, p.shape, "float32"), v: g.input(`v:${p.name}`, p.shape, "float32"), grad: grads[i]! }));
      const next = adamwGraph(slots, step, lr, hyper);
      spec.params.forEach((p, i) => {
        stepOutputs[`new:${p.name}`] = next.params[i]!;
        stepOutputs[`newm:${p.name}`] = next.m[i]!;
        stepOutputs[`newv:${p.name}`] = next.v[i]!;
      });
      stepOutputs.gradNorm = next.gradNorm;
    }
    const programOptions = { provider: options.provider ?? "cpu", threads: options.threads, memArena: options.memArena ?? false } as const;
    const exportOptions = { externalThresholdBytes: options.externalThresholdBytes ?? 256 * 2 ** 20 };
    const stepModel = exportModel(g, stepOutputs, { name: "train-step", ...exportOptions });
    const stepProgram = await OrtProgram.create(stepModel, programOptions);
    const forwardModel = exportModel(g, { loss, ...metricOutputs }, { name: "forward", ...exportOptions });
    const forwardProgram = await OrtProgram.create(forwardModel, programOptions);
    const intermediates = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [`out:${k}`, v]));
    const outputsModel = Object.keys(outputs).length > 0 ? exportModel(g, intermediates, { name: "outputs", ...exportOptions }) : null;
    const outputsProgram = outputsModel ? await OrtProgram.create(outputsModel, programOptions) : null;
    const constantBytes = { step: stepModel.constantBytes, forward: forwardModel.constantBytes, outputs: outputsModel?.constantBytes ?? 0 };
    return new Trainer(spec, opt, stepProgram, forwardProgram, outputsProgram, placement, Object.keys(metrics), Object.keys(outputs), constantBytes);
  }

  /** The execution provider the step runs on (after any fallback to CPU). */
  get provider(): string {
    return this.stepProgram.provider;
  }

  private feeds(batch: Readonly<Record<string, HostTensor>>, withState: boolean): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = {};
    this.spec.params.forEach((p, i) => {
      const slot = this.opt.slots[i]!;
      feeds[`param:${p.name}`] = { dtype: "float32", dims: p.shape, data: slot.param };
      if (withState) {
        feeds[`m:${p.name}`] = { dtype: "float32", dims: p.shape, data: slot.m };
        feeds[`v:${p.name}`] = { dtype: "float32", dims: p.shape, data: slot.v };
      }
    });
    for (const f of this.spec.frozen ?? []) feeds[`frozen:${f.name}`] = { dtype: f.dtype, dims: f.shape, data: f.data };
    // A program asks only for the inputs it uses; it names any that are missing.
    for (const d of this.spec.data) {
      const t = batch[d.name];
      if (t) feeds[`data:${d.name}`] = t;
    }
    return feeds;
  }

  private metricsOf(out: Record<string, HostTensor>): Record<string, number> {
    return Object.fromEntries(this.metricNames.map((k) => [k, scalarOf(out[`metric:${k}`]!)]));
  }

  private outputsOf(out: Record<string, HostTensor>): Record<string, HostTensor> {
    return Object.fromEntries(this.outputNames.map((k) => [k, out[`out:${k}`]!]));
  }

  /** Forward, backward and one AdamW update on `batch`. */
  async trainStep(batch: Readonly<Record<string, HostTensor>>): Promise<StepResult> {
    if (this.placement === "js") {
      const out = await this.stepProgram.run(this.feeds(batch, false));
      const gradNorm = this.opt.apply(this.spec.params.map((p) => out[`grad:${p.name}`]!.data as Float32Array));
      return { loss: scalarOf(out.loss!), gradNorm, metrics: this.metricsOf(out), outputs: this.outputsOf(out) };
    }
    const feeds = this.feeds(batch, true);
    feeds["opt:step"] = { dtype: "float32", dims: [], data: Float32Array.of(this.opt.nextStep()) };
    feeds["opt:lr"] = { dtype: "float32", dims: [], data: Float32Array.of(this.hyper.lr) };
    const out = await this.stepProgram.run(feeds);
    this.spec.params.forEach((p, i) => {
      const s = this.opt.slots[i]!;
      s.param = out[`new:${p.name}`]!.data as Float32Array;
      s.m = out[`newm:${p.name}`]!.data as Float32Array;
      s.v = out[`newv:${p.name}`]!.data as Float32Array;
    });
    return { loss: scalarOf(out.loss!), gradNorm: scalarOf(out.gradNorm!), metrics: this.metricsOf(out), outputs: this.outputsOf(out) };
  }

  /**
   * One AdamW update from several micro-batches: gradients are summed with `weights` (each
   * micro-batch's share of the whole batch's normaliser, so the sum equals one big batch's
   * gradient), then clipped and applied once. Needs the "js" optimizer placement. Loss and metrics
   * are combined with the same weights; outputs are per micro-batch.
   */
  async accumulateStep(batches: readonly Readonly<Record<string, HostTensor>>[], weights: readonly number[]): Promise<StepResult & { outputsPerBatch: Record<string, HostTensor>[] }> {
    if (this.placement !== "js") throw new Error('gradient accumulation needs the optimizer in JS (optimizer: "js")');
    return this.accumulate(batches, weights, this.metricNames, async (batch, sums, w) => {
      const out = await this.stepProgram.run(this.feeds(batch, false));
      this.spec.params.forEach((p, j) => addScaled(sums[j]!, out[`grad:${p.name}`]!.data as Float32Array, w));
      return { loss: scalarOf(out.loss!), metrics: Object.fromEntries(this.metricNames.map((k) => [k, scalarOf(out[`metric:${k}`]!)])), outputs: this.outputsOf(out) };
    });
  }

  /** The loss (and metrics) on `batch` without updating. */
  async evaluate(batch: Readonly<Record<string, HostTensor>>): Promise<{ loss: number; metrics: Record<string, number>; outputs: Record<string, HostTensor> }> {
    const out = await this.forwardProgram.run(this.feeds(batch, false));
    return { loss: scalarOf(out.loss!), metrics: this.metricsOf(out), outputs: this.outputsOf(out) };
  }

  /** Only the requested intermediates (no loss): needs only the inputs they depend on. */
  async outputs(batch: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    if (!this.outputsProgram) throw new Error("this training graph requests no intermediates");
    return this.outputsOf(await this.outputsProgram.run(this.feeds(batch, false)));
  }

  /** Release the sessions. Safe to call more than once. */
  async dispose(): Promise<void> {
    await Promise.all([this.stepProgram.dispose(), this.forwardProgram.dispose(), this.outputsProgram?.dispose()]);
  }
}
