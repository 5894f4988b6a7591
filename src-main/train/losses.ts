// Training objectives as named pure functions over graph tensors. Shapes: B sequences, T positions.
// Per-token terms are separate from their aggregation, and every loss returns {loss, metrics}
// with namespaced metric keys.
import { tokenLogProbs } from "./composites.js";
import type { Tensor } from "./graph.js";
import * as o from "./ops.js";

/** How per-token terms become one number. */
export const AGGREGATIONS = ["token-mean", "sequence-mean", "token-sum"] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** A loss and its scalar metrics. */
export interface LossOutput {
  loss: Tensor;
  metrics: Record<string, Tensor>;
}

/** log p(target_t | tokens_≤t): logits [B, T, V], int64 targets [B, T] → [B, T]. */
export function completionLogProbs(logits: Tensor, targets: Tensor): Tensor {
  return tokenLogProbs(logits, targets);
}

/**
 * Aggregate per-token values [B, T] under a 0/1 mask [B, T] (prompt and padding positions are 0).
 * token-mean: Σ v·m / Σ m. sequence-mean: mean over sequences of each one's token mean.
 * token-sum: Σ v·m / B (a constant normaliser: long completions weigh more, as in Dr. GRPO).
 */
export function aggregate(values: Tensor, mask: Tensor, how: Aggregation): Tensor {
  const masked = o.mul(values, mask);
  switch (how) {
    case "token-mean":
      return o.div(o.reduceSum(masked), o.maximum(o.reduceSum(mask), 1));
    case "sequence-mean":
      return o.reduceMean(o.div(o.reduceSum(masked, [1]), o.maximum(o.reduceSum(mask, [1]), 1)));
    case "token-sum":
      // The batch size as a scalar: the loss must be rank 0 for the gradient.
      return o.div(o.reduceSum(masked), o.cast(o.squeeze(o.slice(o.shapeOf(mask), [0], [1], [0]), [0]), mask.dtype));
  }
}

/** Settings of the clipped policy-gradient loss. */
export interface PolicyLossOptions {
  /** Ratio clipped below at 1 − clipLow. */
  clipLow: number;
  /** Ratio clipped above at 1 + clipHigh (DAPO's clip-higher when > clipLow). */
  clipHigh: number;
  aggregation: Aggregation;
  /** Weight of the KL penalty to the reference policy; 0 disables it (and refLogp may be null). */
  klCoef: number;
}

/**
 * PPO/GRPO clipped surrogate. logp, oldLogp, refLogp, mask: [B, T]; advantages: [B] (one per
 * completion, broadcast over its tokens) or [B, T] (per token: a packed row holds several
 * completions). Per token: −min(r·A, clip(r, 1−εl, 1+εh)·A) with
 * r = exp(logp − oldLogp), plus klCoef · k3(ref ‖ policy) = exp(ref − logp) − (ref − logp) − 1.
 */
export function policyLoss(logp: Tensor, oldLogp: Tensor, advantages: Tensor, mask: Tensor, refLogp: Tensor | null, opt: PolicyLossOptions): LossOutput {
  const adv = advantages.rank === 2 ? advantages : o.unsqueeze(advantages, [1]); // [B, T] or [B, 1]
  const ratio = o.exp(o.sub(logp, oldLogp)); // [B, T]
  const clipped = o.clip(ratio, 1 - opt.clipLow, 1 + opt.clipHigh);
  const perToken = o.neg(o.minimum(o.mul(ratio, adv), o.mul(clipped, adv)));
  // A token is clipped when the clipped branch is the one the min picks and it differs.
  const isClipped = o.cast(o.less(o.mul(clipped, adv), o.mul(ratio, adv)), mask.dtype);
  const metrics: Record<string, Tensor> = {
    "policy/clipFrac": aggregate(isClipped, mask, "token-mean"),
    "policy/ratioMean": aggregate(ratio, mask, "token-mean"),
    // k1 estimate of KL(old ‖ new), for monitoring.
    "policy/approxKl": aggregate(o.sub(oldLogp, logp), mask, "token-mean"),
  };
  let total = perToken;
  if (opt.klCoef !== 0) {
    if (!refLogp) throw new Error("policyLoss: klCoef is set but no reference log-probs were given");
    const d = o.sub(refLogp, logp);
    const k3 = o.sub(o.sub(o.exp(d), d), 1);
    metrics["kl/ref"] = aggregate(k3, mask, "token-mean");
    total = o.add(total, o.mul(k3, opt.klCoef));
  }
  return { loss: aggregate(total, mask, opt.aggregation), metrics };
}

/** Supervised fine-tuning: mean negative log-likelihood of the masked tokens. */
export function sftLoss(logp: Tensor, mask: Tensor): LossOutput {
  const nll = aggregate(o.neg(logp), mask, "token-mean");
  return { loss: nll, metrics: { "sft/nll": nll } };
}
