// Composite operations built from primitives, so their gradients come from the primitives' rules.
// Each was checked to be numerically safe as a composite (max-shifted softmax; rsqrt of a mean
// plus epsilon), so none needs a fused gradient rule. Memory is shaped by marking values for
// recomputation (Graph.recompute), never by a hand-written gradient.
import type { Tensor } from "./graph.js";
import * as o from "./ops.js";
import { ShapeError, formatShape } from "./shape.js";

/** x · sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return o.mul(x, o.sigmoid(x));
}

/** log softmax along `axis`, shifted by the (gradient-free) max: the shift cancels exactly. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const shifted = o.sub(x, o.stopGradient(o.reduceMax(x, [axis], true)));
  return o.sub(shifted, o.log(o.reduceSum(o.exp(shifted), [axis], true)));
}

/** softmax along `axis`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const e = o.exp(o.sub(x, o.stopGradient(o.reduceMax(x, [axis], true))));
  return o.div(e, o.reduceSum(e, [axis], true));
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const ms = o.reduceMean(o.mul(x, x), [-1], true);
  return o.mul(o.div(x, o.sqrt(o.add(ms, eps))), weight);
}

/**
 * Rotary position embedding of x [..., T, H, D] with cos/sin tables [T, D/2].
 * "neox" rotates (i, i + D/2) pairs (qwen2, qwen3); "norm" rotates (2i, 2i+1) pairs (llama).
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, style: "neox" | "norm"): Tensor {
  const d = x.shape[x.rank - 1];
  if (typeof d !== "number" || d % 2 !== 0) throw new ShapeError(`rope: the last axis of ${formatShape(x.shape)} must be a static even size`);
  const half = d / 2;
  // Tables [T, D/2] broadcast over heads: [T, 1, D/2].
  const c = o.unsqueeze(cos, [-2]);
  const s = o.unsqueeze(sin, [-2]);
  if (style === "neox") {
    const [x1, x2] = o.split(x, [half, half], -1) as [Tensor, Tensor];
    const r1 = o.sub(o.mul(x1, c), o.mul(x2, s)); // [..., T, H, D/2]
    const r2 = o.add(o.mul(x1, s), o.mul(x2, c));
    return o.concat([r1, r2], -1);
  }
  const pairs = o.reshape(x, [...x.shape.slice(0, -1), half, 2]); // [..., T, H, D/2, 2]
  const [even, odd] = o.split(pairs, [1, 1], -1).map((t) => o.squeeze(t, [-1])) as [Tensor, Tensor];
  const r1 = o.sub(o.mul(even, c), o.mul(odd, s));
  const r2 = o.add(o.mul(even, s), o.mul(odd, c));
  return o.reshapeLike(o.concat([o.unsqueeze(r1, [-1]), o.unsqueeze(r2, [-1])], -1), x);
}

/**
 * Scaled dot-product attention with grouped-query heads.
 * q [B, Hq, T, D], k and v [B, Hkv, S, D], additive mask broadcastable to [B, 1, T, S]
 * ([T, S] or [B, 1, T, S]; 0 where visible, a large negative number where not) → [B, Hq, T, D].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): Tensor {
  const [b, hq, t, d] = q.shape;
  const hkv = k.shape[1];
  if (typeof hq !== "number" || typeof hkv !== "number" || hq % hkv !== 0) {
    throw new ShapeError(`attention: query heads ${hq} must be a static multiple of key/value heads ${hkv}`);
  }
  if (typeof d !== "number") throw new ShapeError(`attention: head size must be static, found ${formatShape(q.shape)}`);
  const group = hq / hkv;
  // Query heads sharing a key/value head sit on their own axis: [B, Hkv, G, T, D] against [B, Hkv, 1, S, D].
  const qg = o.reshape(q, [b!, hkv, group, t!, d]);
  const kg = o.unsqueeze(k, [2]);
  const vg = o.unsqueeze(v, [2]);
  let scores = o.mul(o.matmul(qg, o.transposeLast2(kg)), 1 / Math.sqrt(d)); // [B, Hkv, G, T, S]
  if (mask) {
    if (mask.rank !== 2 && mask.rank !== 4) throw new ShapeError(`attention: the mask must be [T, S] or [B, 1, T, S], found ${formatShape(mask.shape)}`);
    scores = o.add(scores, mask.rank === 4 ? o.unsqueeze(mask, [2]) : mask);
  }
  const out = o.matmul(softmax(scores, -1), vg); // [B, Hkv, G, T, D]
  return o.reshape(out, [b!, hq, t!, d]);
}

/** log p(target) for each position: logits [..., V], int64 targets [...] → [...]. */
export function tokenLogProbs(logits: Tensor, targets: Tensor): Tensor {
  const lp = logSoftmax(logits, -1);
  return o.squeeze(o.gatherElements(lp, o.unsqueeze(targets, [-1]), -1), [-1]);
}

/**
 * log p(target) for each position of `hidden` [..., D] under an output head of `vocab` rows
 * (logits = hidden · headᵀ), without the [..., vocab] logits existing whole when vocab > chunk:
 * each chunk of rows gives its log-sum-exp [..., 1] (its logits, shifted and exponentiated, are
 * recomputed in the backward pass, so one chunk's worth is alive at a time), the chunks' values
 * are combined by one more log-sum-exp, and the target's logit is hidden · head[target].
 * `rows(start, end)` gives head rows [start, end) [end − start, D]; `pick(targets)` the target
 * rows [..., D]. With vocab ≤ chunk it is tokenLogProbs of the whole logits.
 */
export function chunkedTokenLogProbs(hidden: Tensor, vocab: number, chunk: number, rows: (start: number, end: number) => Tensor, pick: (targets: Tensor) => Tensor, targets: Tensor): Tensor {
  if (!(Number.isInteger(chunk) && chunk > 0)) throw new Error(`chunkedTokenLogProbs: chunk must be a positive integer, found ${chunk}`);
  const g = hidden.graph;
  if (vocab <= chunk) return tokenLogProbs(o.matmul(hidden, o.transposeLast2(rows(0, vocab))), targets);
  const lses: Tensor[] = [];
  for (let start = 0; start < vocab; start += chunk) {
    const end = Math.min(vocab, start + chunk);
    const logits = g.recompute(o.matmul(hidden, g.recompute(o.transposeLast2(rows(start, end))))); // [..., Vc]
    const max = o.stopGradient(o.reduceMax(logits, [-1], true)); // [..., 1]
    const e = g.recompute(o.exp(g.recompute(o.sub(logits, max)))); // [..., Vc]
    lses.push(o.add(max, o.log(o.reduceSum(e, [-1], true)))); // [..., 1]
  }
  const all = o.concat(lses, -1); // [..., chunks]
  const max = o.stopGradient(o.reduceMax(all, [-1], true));
  const lse = o.add(max, o.log(o.reduceSum(o.exp(o.sub(all, max)), [-1], true))); // [..., 1]
  const target = o.reduceSum(o.mul(hidden, pick(targets)), [-1], true); // [..., 1]
  return o.squeeze(o.sub(target, lse), [-1]);
}

/** Mean negative log-likelihood: logits [N, V], targets [N] (int64), optional weights [N] (then Σ w·nll / Σ w). */
export function crossEntropy(logits: Tensor, targets: Tensor, weights: Tensor | null = null): Tensor {
  const nll = o.neg(tokenLogProbs(logits, targets));
  if (!weights) return o.reduceMean(nll);
  return o.div(o.reduceSum(o.mul(nll, weights)), o.reduceSum(weights));
}
