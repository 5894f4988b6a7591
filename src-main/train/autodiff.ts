// Reverse-mode differentiation over a Graph: appends the backward nodes to the same graph.
// The walker owns, once, what every rule would otherwise repeat: un-broadcasting gradients to
// their input's shape, summing the gradients of values used more than once, stop-gradient and
// integer inputs (no gradient), and symbolic zeros (null: nothing emitted).
import { isFloat } from "./dtype.js";
import type { Graph, Node, Tensor } from "./graph.js";
import { OP_TABLE } from "./op-table.js";
import * as o from "./ops.js";
import { formatShape } from "./shape.js";

/** Thrown when a gradient is needed through an op that has no rule. */
export class GradientError extends Error {
  override name = "GradientError";
}

function sameShape(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Sum `g` (broadcast shape) down to the shape of `x`. */
export function sumToShape(g: Tensor, x: Tensor): Tensor {
  const lead = g.rank - x.rank;
  let out = g;
  if (lead > 0) out = o.reduceSum(out, Array.from({ length: lead }, (_, i) => i), false);
  const axes: number[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1 && out.shape[i] !== 1) axes.push(i);
  });
  if (axes.length > 0) out = o.reduceSum(out, axes, true);
  return out;
}

/**
 * Gradients of the scalar `loss` with respect to each of `wrt`, built as new graph nodes.
 * A tensor that does not influence the loss gets zeros of its shape.
 */
export function grad(loss: Tensor, wrt: readonly Tensor[]): Tensor[] {
  const g: Graph = loss.graph;
  if (loss.rank !== 0) throw new GradientError(`grad: the loss must be a scalar, found shape ${formatShape(loss.shape)}`);
  if (!isFloat(loss.dtype)) throw new GradientError(`grad: the loss must be a float, found ${loss.dtype}`);
  const nodeCount = g.nodes.length;

  // Forward: which values depend on a requested input.
  const needs = new Set<number>(wrt.map((w) => w.id));
  for (let i = 0; i < nodeCount; i++) {
    const node = g.nodes[i]!;
    if (node.inputs.some((x) => needs.has(x.id))) for (const out of node.outputs) needs.add(out.id);
  }

  const contributions = new Map<number, Tensor[]>();
  const addContribution = (t: Tensor, value: Tensor): void => {
    const list = contributions.get(t.id);
    if (list) list.push(value);
    else contributions.set(t.id, [value]);
  };
  const total = (t: Tensor): Tensor | null => {
    const list = contributions.get(t.id);
    if (!list || list.length === 0) return null;
    const sum = list.reduce((a, b) => o.add(a, b));
    contributions.set(t.id, [sum]);
    return sum;
  };

  // Values of recomputed nodes are rebuilt (once, in the backward pass) where a rule reads them,
  // so the forward's copy dies after its forward uses instead of living until the backward.
  // ORT may run a node as soon as its inputs exist, which would bring every rebuilt value back at
  // the start of the backward pass: the kept values a rebuild starts from therefore pass through
  // an alias (a Reshape to their own shape, no copy) that depends on the gradient that first
  // asked for the rebuild, so each rebuild runs when the backward pass reaches it.
  const gates = new Map<number, Tensor>();
  const gateOf = (gr: Tensor): Tensor => {
    let z = gates.get(gr.id);
    if (!z) {
      const first = gr.rank === 0 ? gr : o.reduceMax(o.slice(gr, gr.shape.map(() => 0), gr.shape.map(() => 1), gr.shape.map((_, i) => i)), undefined, false);
      // Always 0 (nothing is below −∞, and NaN compares false), but only known once `gr` is.
      z = o.cast(o.less(first, -Infinity), "int64");
      gates.set(gr.id, z);
    }
    return z;
  };
  const aliases = new Map<number, Tensor>();
  const rebuilt = new Map<number, Tensor>();
  const rebuild = (t: Tensor, gate: Tensor, inner: boolean): Tensor => {
    const p = t.producer;
    if (!p || !g.recomputed.has(p.id)) {
      if (!inner || !isFloat(t.dtype)) return t;
      let a = aliases.get(t.id);
      if (!a) {
        a = g.apply1("ReshapeLike", [t, o.add(o.shapeOf(t), gate)], {}, { shape: t.shape });
        aliases.set(t.id, a);
      }
      return a;
    }
    let r = rebuilt.get(t.id);
    if (!r) {
      const outs = g.apply(p.op, p.inputs.map((x) => rebuild(x, gate, true)), { ...p.attrs }, { ...p.meta });
      p.outputs.forEach((out, k) => rebuilt.set(out.id, outs[k]!));
      r = rebuilt.get(t.id)!;
    }
    return r;
  };
  const forRule = (node: Node, gOut: readonly (Tensor | null)[]): Node => {
    if (!node.inputs.some((x) => x.producer && g.recomputed.has(x.producer.id)) && !g.recomputed.has(node.id)) return node;
    const gate = gateOf(gOut.find((x) => x !== null)!);
    return { ...node, inputs: node.inputs.map((x) => rebuild(x, gate, false)), outputs: node.outputs.map((x) => rebuild(x, gate, false)) };
  };

  addContribution(loss, g.scalar(1, loss.dtype));
  for (let i = nodeCount - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((out) => needs.has(out.id) && contributions.has(out.id))) continue;
    const gOut = node.outputs.map(total);
    const def = OP_TABLE[node.op]!;
    if (!def.vjp) throw new GradientError(`no gradient rule for ${node.op} (node ${node.id}, output ${node.outputs[0]})`);
    const thunks = def.vjp(forRule(node, gOut), gOut);
    node.inputs.forEach((x, k) => {
      const thunk = thunks[k];
      if (!thunk || !needs.has(x.id) || !isFloat(x.dtype)) return;
      const gi = thunk();
      // Negate after summing, not before: sumToShape(−t) = −sumToShape(t) on fewer elements.
      const negated = gi.producer?.op === "Neg" && !sameShape(gi.shape, x.shape) ? gi.producer.inputs[0]! : null;
      addContribution(x, negated ? o.neg(sumToShape(negated, x)) : sumToShape(gi, x));
    });
  }
  return wrt.map((w) => total(w) ?? o.zerosLike(w));
}
