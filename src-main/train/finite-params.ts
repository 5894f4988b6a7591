// Guards against training that has diverged: a NaN in the weights spreads to every rollout
// (the runs it spoiled "finished" with loss 0 and no warning), so the loop, checkpoints and
// resume refuse non-finite values with an error naming what and where.
import type { AdamWSlot } from "./adamw.js";

/** A NaN or infinity where training needs finite numbers: what (`param:blk.0.q.lora_a`, `loss`), where, and when. */
export class NonFiniteTrainingError extends Error {
  override name = "NonFiniteTrainingError";
  constructor(
    /** The value's name, e.g. "param:blk.0.q.a", "m:…", "loss". */
    readonly what: string,
    readonly index: number,
    readonly found: number,
    readonly context: string,
  ) {
    super(`${context}: ${what} is ${found}${index >= 0 ? ` at element ${index}` : ""}; training diverged (lower the learning rate, or resume from an earlier checkpoint)`);
  }
}

/** Index of the first NaN or ±Infinity in `values`, or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x - x !== 0) return i; // NaN - NaN and Infinity - Infinity are NaN
  }
  return -1;
}

/** What `assertFiniteParams` reads: a Trainer, or anything with its parameter names and AdamW slots. */
export interface ParamSource {
  params(): Record<string, Float32Array>;
  state(): { step: number; slots: readonly AdamWSlot[] };
}

/**
 * Throw NonFiniteTrainingError when a trainable parameter or its AdamW moments hold NaN or
 * ±Infinity; `context` says where the check ran (e.g. "after step 12").
 */
export function assertFiniteParams(trainer: ParamSource, context = `after update ${trainer.state().step}`): void {
  const names = Object.keys(trainer.params());
  trainer.state().slots.forEach((slot, i) => {
    for (const key of ["param", "m", "v"] as const) {
      const at = firstNonFinite(slot[key]);
      if (at >= 0) throw new NonFiniteTrainingError(`${key}:${names[i]}`, at, slot[key][at]!, context);
    }
  });
}

/** Throw NonFiniteTrainingError when a step's loss or gradient norm is NaN or ±Infinity. */
export function assertFiniteStep(result: { loss: number; gradNorm: number }, context: string): void {
  if (!Number.isFinite(result.loss)) throw new NonFiniteTrainingError("loss", -1, result.loss, context);
  if (!Number.isFinite(result.gradNorm)) throw new NonFiniteTrainingError("gradient norm", -1, result.gradNorm, context);
}
