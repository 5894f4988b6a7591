// AdamW (Loshchilov & Hutter) with bias correction, decoupled weight decay and global-norm
// gradient clipping: the JS form, over flat float32 buffers, and the in-graph form.
import type { Tensor } from "./graph.js";
import * as o from "./ops.js";

/** Optimizer hyper-parameters. */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled: params ← params − lr · wd · params. */
  weightDecay: number;
  /** Clip the global L2 norm of all gradients to this; null disables. */
  maxGradNorm: number | null;
}

export const DEFAULT_ADAMW: AdamWHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

/** Optimizer state for one parameter tensor. */
export interface AdamWSlot {
  param: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** The L2 norm over every gradient, in float64. */
export function globalNorm(grads: readonly ArrayLike<number>[]): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  return Math.sqrt(sum);
}

/**
 * One AdamW step (`step` counts from 1). Updates the slots in place: copying every parameter
 * and moment each step would double the optimizer's memory traffic. Returns the gradient norm
 * before clipping.
 */
export function adamwStep(slots: readonly AdamWSlot[], grads: readonly Float32Array[], step: number, hp: AdamWHyper): { gradNorm: number } {
  const gradNorm = globalNorm(grads);
  const clip = hp.maxGradNorm !== null && gradNorm > hp.maxGradNorm ? hp.maxGradNorm / (gradNorm + 1e-6) : 1;
  const bc1 = 1 - hp.beta1 ** step;
  const bc2 = 1 - hp.beta2 ** step;
  const { beta1, beta2, eps, lr } = hp;
  const decay = 1 - lr * hp.weightDecay;
  slots.forEach((s, k) => {
    const g = grads[k]!;
    const { param, m, v } = s;
    for (let i = 0; i < param.length; i++) {
      const gi = g[i]! * clip;
      const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
      const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
      param[i] = param[i]! * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  });
  return { gradNorm };
}

/** In-graph AdamW: new (param, m, v) tensors for each slot; `step`, `lr` are scalar graph inputs. */
export function adamwGraph(
  slots: readonly { param: Tensor; m: Tensor; v: Tensor; grad: Tensor }[],
  step: Tensor,
  lr: Tensor,
  hp: Omit<AdamWHyper, "lr">,
): { params: Tensor[]; m: Tensor[]; v: Tensor[]; gradNorm: Tensor } {
  const sq = slots.map((s) => o.reduceSum(o.mul(s.grad, s.grad)));
  const gradNorm = o.sqrt(sq.reduce((a, b) => o.add(a, b)));
  const clip = hp.maxGradNorm === null ? null : o.minimum(o.div(hp.maxGradNorm, o.add(gradNorm, 1e-6)), 1);
  const bc1 = o.sub(1, o.pow(step.graph.scalar(hp.beta1, step.dtype), step));
  const bc2 = o.sub(1, o.pow(step.graph.scalar(hp.beta2, step.dtype), step));
  const out = { params: [] as Tensor[], m: [] as Tensor[], v: [] as Tensor[], gradNorm };
  for (const s of slots) {
    const g = clip ? o.mul(s.grad, clip) : s.grad;
    const m = o.add(o.mul(s.m, hp.beta1), o.mul(g, 1 - hp.beta1));
    const v = o.add(o.mul(s.v, hp.beta2), o.mul(o.mul(g, g), 1 - hp.beta2));
    const update = o.div(o.div(m, bc1), o.add(o.sqrt(o.div(v, bc2)), hp.eps));
    const decayed = hp.weightDecay === 0 ? s.param : o.mul(s.param, o.sub(1, o.mul(lr, hp.weightDecay)));
    out.params.push(o.sub(decayed, o.mul(lr, update)));
    out.m.push(m);
    out.v.push(v);
  }
  return out;
}
