// The trainable side of a trainer: named float32 parameters, their AdamW moments and the step
// count. The one-graph Trainer and the block-by-block trainer both keep one; checkpoints save it.
import { adamwStep, DEFAULT_ADAMW, type AdamWHyper, type AdamWSlot } from "./adamw.js";
import type { HostTensor } from "./ort-session.js";
import type { ParamSpec, StepResult } from "./trainer.js";

/** What one micro-batch gave: its loss, metrics and outputs (its gradient went into the sums). */
export interface MicroBatchResult {
  loss: number;
  metrics: Readonly<Record<string, number>>;
  outputs: Record<string, HostTensor>;
}

/** Parameters, AdamW moments, hyper-parameters and steps taken. */
export class OptimizerState {
  readonly slots: AdamWSlot[];
  readonly hyper: AdamWHyper;
  private count = 0;

  constructor(
    readonly specs: readonly ParamSpec[],
    hyper: Partial<AdamWHyper> = {},
  ) {
    this.slots = specs.map((p) => ({ param: Float32Array.from(p.init), m: new Float32Array(p.init.length), v: new Float32Array(p.init.length) }));
    this.hyper = { ...DEFAULT_ADAMW, ...hyper };
  }

  /** Steps taken so far. */
  get step(): number {
    return this.count;
  }

  /** Count one more step and return its number (for an optimizer that runs elsewhere, e.g. in the graph). */
  nextStep(): number {
    return ++this.count;
  }

  /** One AdamW step over `grads` (one per parameter, in order); returns the gradient norm before clipping. */
  apply(grads: readonly Float32Array[]): number {
    return adamwStep(this.slots, grads, this.nextStep(), this.hyper).gradNorm;
  }

  /** A zeroed gradient buffer per parameter, to sum micro-batches into (addScaled). */
  zeroGrads(): Float32Array[] {
    return this.specs.map((p) => new Float32Array(p.init.length));
  }

  /** Change the learning rate from the next step on (schedules). */
  setLearningRate(lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`learning rate must be a finite number ≥ 0, found ${lr}`);
    this.hyper.lr = lr;
  }

  /** Current parameter values by name (live views: copy before mutating). */
  params(): Record<string, Float32Array> {
    return Object.fromEntries(this.specs.map((p, i) => [p.name, this.slots[i]!.param]));
  }

  /** Parameters and optimizer state, for checkpoints (live views). */
  state(): { step: number; slots: readonly AdamWSlot[] } {
    return { step: this.count, slots: this.slots };
  }

  /** Restore parameters, optimizer moments and step count (copied in). */
  restore(step: number, values: ReadonlyMap<string, { param: Float32Array; m: Float32Array; v: Float32Array }>): void {
    this.specs.forEach((p, i) => {
      const v = values.get(p.name);
      if (!v) throw new Error(`checkpoint has no parameter ${p.name}`);
      if (v.param.length !== p.init.length) throw new Error(`checkpoint parameter ${p.name} has ${v.param.length} values, expected ${p.init.length}`);
      this.slots[i] = { param: Float32Array.from(v.param), m: Float32Array.from(v.m), v: Float32Array.from(v.v) };
    });
    this.count = step;
  }
}

/**
 * What both trainers delegate to their OptimizerState (PolicyTrainer's bookkeeping side): the
 * step count, hyper-parameters, learning rate, parameters, checkpoint state and restore.
 */
export abstract class OptimizerOwner {
  protected constructor(protected readonly opt: OptimizerState) {}

  /** Steps taken so far. */
  get step(): number {
    return this.opt.step;
  }

  /** AdamW's hyper-parameters (the learning rate changes with setLearningRate). */
  get hyper(): AdamWHyper {
    return this.opt.hyper;
  }

  /** Change the learning rate from the next step on (schedules). */
  setLearningRate(lr: number): void {
    this.opt.setLearningRate(lr);
  }

  /** Current parameter values by name (live views: copy before mutating). */
  params(): Record<string, Float32Array> {
    return this.opt.params();
  }

  /** Parameters and optimizer state, for checkpoints (live views). */
  state(): { step: number; slots: readonly AdamWSlot[] } {
    return this.opt.state();
  }

  /** Restore parameters, optimizer moments and step count (copied in). */
  restore(step: number, values: ReadonlyMap<string, { param: Float32Array; m: Float32Array; v: Float32Array }>): void {
    this.opt.restore(step, values);
  }

  /**
   * One AdamW step over weighted micro-batches: `runBatch` adds w × its batch's gradient into
   * `sums` (one buffer per parameter, addScaled); losses and metrics are summed with the same weights.
   */
  protected async accumulate(
    batches: readonly Readonly<Record<string, HostTensor>>[],
    weights: readonly number[],
    metricNames: readonly string[],
    runBatch: (batch: Readonly<Record<string, HostTensor>>, sums: Float32Array[], w: number) => Promise<MicroBatchResult>,
  ): Promise<StepResult & { outputsPerBatch: Record<string, HostTensor>[] }> {
    if (batches.length === 0 || batches.length !== weights.length) throw new Error(`accumulateStep: ${batches.length} micro-batches for ${weights.length} weights`);
    const sums = this.opt.zeroGrads();
    let loss = 0;
    const metrics: Record<string, number> = Object.fromEntries(metricNames.map((k) => [k, 0]));
    const outputsPerBatch: Record<string, HostTensor>[] = [];
    for (const [i, batch] of batches.entries()) {
      const w = weights[i]!;
      const one = await runBatch(batch, sums, w);
      loss += w * one.loss;
      for (const k of metricNames) metrics[k]! += w * one.metrics[k]!;
      outputsPerBatch.push(one.outputs);
    }
    const gradNorm = this.opt.apply(sums);
    return { loss, gradNorm, metrics, outputs: outputsPerBatch[0]!, outputsPerBatch };
  }
}

/** sum += w · g, elementwise: one micro-batch's gradient into the accumulated one. */
export function addScaled(sum: Float32Array, g: Float32Array, w: number): void {
  for (let k = 0; k < sum.length; k++) sum[k]! += w * g[k]!;
}
