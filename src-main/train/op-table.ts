// One table for every primitive: its shape/dtype rule, its ONNX op type, and its vector-Jacobian
// product (one gradient thunk per input, null where no gradient flows). Gradients are returned
// in the output's broadcast shape; the walker (autodiff.ts) sums them back to each input's shape.
import { isFloat, type DType } from "./dtype.js";
import type { Node, Tensor } from "./graph.js";
import { sumToShape } from "./autodiff.js";
import * as o from "./ops.js";
import { ShapeError, broadcastShapes, dimsCompatible, formatShape, type Dim, type Shape } from "./shape.js";

type Info = { shape: Shape; dtype: DType };
type GradThunk = (() => Tensor) | null;
/** The gradients of a node's inputs given its outputs' gradients (null = zero). */
export type Vjp = (node: Node, gOut: readonly (Tensor | null)[]) => GradThunk[];

export interface OpDef {
  infer: (inputs: readonly Tensor[], meta: Readonly<Record<string, unknown>>, op: string) => Info[];
  /** ONNX op type when it differs from the table key. */
  onnx?: string;
  /** null: not differentiable (integer or boolean results). */
  vjp: Vjp | null;
}

const shapes = (xs: readonly Tensor[]): string => xs.map((x) => formatShape(x.shape)).join(" and ");

function sameDtype(op: string, xs: readonly Tensor[]): DType {
  const d = xs[0]!.dtype;
  for (const x of xs) if (x.dtype !== d) throw new ShapeError(`${op}: operands have dtypes ${xs.map((y) => y.dtype).join(" and ")}`);
  return d;
}

const elementwise = (resultDtype?: DType) => (xs: readonly Tensor[], _m: unknown, op: string): Info[] => {
  const dtype = sameDtype(op, xs);
  const shape = xs.slice(1).reduce<Shape>((s, x) => broadcastShapes(op, s, x.shape), xs[0]!.shape);
  return [{ shape, dtype: resultDtype ?? dtype }];
};
const sameAsInput = (xs: readonly Tensor[]): Info[] => [{ shape: xs[0]!.shape, dtype: xs[0]!.dtype }];

// Rule helpers by kind of math.
const linear = (...signs: number[]): Vjp => (_n, [g]) => signs.map((s) => (s === 0 ? null : () => (s > 0 ? g! : o.neg(g!))));
const unaryRule = (f: (x: Tensor, y: Tensor, g: Tensor) => Tensor): Vjp => (n, [g]) => [() => f(n.inputs[0]!, n.outputs[0]!, g!)];
const noGrad: Vjp = (n) => n.inputs.map(() => null);

/** Ties split the gradient evenly; elsewhere it goes to the selected operand. */
function selectMask(chosen: Tensor, other: Tensor, strict: (a: Tensor, b: Tensor) => Tensor): Tensor {
  const win = o.cast(strict(chosen, other), chosen.dtype);
  const tie = o.cast(o.equal(chosen, other), chosen.dtype);
  return o.add(win, o.mul(tie, 0.5));
}

function reduceInfo(xs: readonly Tensor[], meta: Readonly<Record<string, unknown>>): Info[] {
  const x = xs[0]!;
  const axes = meta.axes as number[];
  const keep = meta.keepdims as boolean;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ shape, dtype: x.dtype }];
}

/** Bring a reduced gradient back to the input's rank (keepdims form), then broadcast it. */
function unreduce(g: Tensor, node: Node): Tensor {
  const x = node.inputs[0]!;
  const kept = node.meta.keepdims ? g : o.unsqueeze(g, node.meta.axes as number[]);
  return o.expandLike(kept, x);
}

function matmulInfo(xs: readonly Tensor[], _m: unknown, op: string): Info[] {
  const [a, b] = xs as [Tensor, Tensor];
  const dtype = sameDtype(op, xs);
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`MatMul: operands must have rank ≥ 2, found ${shapes(xs)}`);
  const k1 = a.shape[a.rank - 1]!, k2 = b.shape[b.rank - 2]!;
  if (!dimsCompatible(k1, k2)) throw new ShapeError(`MatMul: inner dimensions differ: ${shapes(xs)}`);
  const batch = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  return [{ shape: [...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!], dtype }];
}

/**
 * Gradient of a weight [K, N] shared by every batch row of a [..., M, K]: fold the batch into
 * rows and do one [K, rows] × [rows, N] product, instead of a batched product followed by a
 * sum over a [..., K, N] intermediate.
 */
function sharedWeightGrad(a: Tensor, g: Tensor): Tensor {
  const rows = a.shape.slice(0, -1).join("*");
  const a2 = o.reshape(a, [rows, a.shape[a.rank - 1]!]);
  const g2 = o.reshape(g, [rows, g.shape[g.rank - 1]!]);
  return o.matmul(o.transposeLast2(a2), g2);
}

function reshapeInfo(xs: readonly Tensor[], meta: Readonly<Record<string, unknown>>): Info[] {
  const x = xs[0]!;
  const target = meta.shape as Dim[];
  const before = staticCount(x.shape), after = staticCount(target);
  if (before !== null && after !== null && before !== after) throw new ShapeError(`Reshape: cannot reshape ${formatShape(x.shape)} (${before} elements) to ${formatShape(target)} (${after})`);
  return [{ shape: target, dtype: x.dtype }];
}

function staticCount(s: Shape): number | null {
  return s.every((d) => typeof d === "number") ? (s as number[]).reduce((a, b) => a * b, 1) : null;
}

function concatInfo(xs: readonly Tensor[], meta: Readonly<Record<string, unknown>>, op: string): Info[] {
  const axis = meta.axis as number;
  const dtype = sameDtype(op, xs);
  const first = xs[0]!;
  for (const x of xs) {
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== axis && !dimsCompatible(d, first.shape[i]!))) {
      throw new ShapeError(`Concat: shapes ${shapes(xs)} differ outside axis ${axis}`);
    }
  }
  const sizes = xs.map((x) => x.shape[axis]!);
  const joined: Dim = sizes.every((d) => typeof d === "number") ? (sizes as number[]).reduce((a, b) => a + b, 0) : sizes.join("+");
  return [{ shape: first.shape.map((d, i) => (i === axis ? joined : d)), dtype }];
}

function sliceInfo(xs: readonly Tensor[], meta: Readonly<Record<string, unknown>>): Info[] {
  const x = xs[0]!;
  const { starts, ends, axes } = meta as { starts: number[]; ends: number[]; axes: number[] };
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const d = x.shape[a]!;
    if (typeof d !== "number") {
      shape[a] = starts[i] === 0 && ends[i]! >= 2 ** 31 ? d : `${d}[${starts[i]}:${ends[i]}]`;
      return;
    }
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    shape[a] = Math.max(0, clamp(ends[i]!) - clamp(starts[i]!));
  });
  return [{ shape, dtype: x.dtype }];
}

function sliceGrad(node: Node, g: Tensor): Tensor {
  const x = node.inputs[0]!;
  const { starts, ends, axes } = node.meta as { starts: number[]; ends: number[]; axes: number[] };
  const pads = new Array<number>(2 * x.rank).fill(0);
  axes.forEach((a, i) => {
    const d = x.shape[a];
    if (typeof d !== "number") throw new ShapeError(`Slice gradient: axis ${a} of ${formatShape(x.shape)} must have a static size`);
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    pads[a] = clamp(starts[i]!);
    pads[a + x.rank] = d - clamp(ends[i]!);
  });
  return o.pad(g, pads);
}

function concatGrad(node: Node, g: Tensor): GradThunk[] {
  const axis = node.meta.axis as number;
  let offset = 0;
  return node.inputs.map((x) => {
    const size = x.shape[axis];
    if (typeof size !== "number") throw new ShapeError(`Concat gradient: input ${formatShape(x.shape)} needs a static size on axis ${axis}`);
    const start = offset;
    offset += size;
    return () => o.slice(g, [start], [start + size], [axis]);
  });
}

function gatherGrad(node: Node, g: Tensor): Tensor {
  const [data, indices] = node.inputs as [Tensor, Tensor];
  const axis = node.meta.axis as number;
  const zeros = o.zerosLike(data);
  if (axis === 0) return o.scatterNDAdd(zeros, o.unsqueeze(indices, [indices.rank]), g);
  if (indices.rank !== 1) throw new ShapeError(`Gather gradient: axis ${axis} needs 1-D indices, found ${formatShape(indices.shape)}`);
  // Broadcast the 1-D indices along every other axis of the output, then scatter along `axis`.
  const shaped = o.reshape(indices, g.shape.map((_, i) => (i === axis ? indices.shape[0]! : 1)));
  return o.scatterElementsAdd(zeros, o.expandLike(shaped, g), g, axis);
}

export const OP_TABLE: Record<string, OpDef> = {
  Add: { infer: elementwise(), vjp: linear(1, 1) },
  Sub: { infer: elementwise(), vjp: linear(1, -1) },
  Mul: { infer: elementwise(), vjp: (n, [g]) => [() => o.mul(g!, n.inputs[1]!), () => o.mul(g!, n.inputs[0]!)] },
  Div: {
    infer: elementwise(),
    // A broadcast divisor is constant along the axes its gradient is summed over: sum first, then
    // divide and negate the small tensor (softmax's normalizer is the common case).
    vjp: (n, [g]) => {
      const b = n.inputs[1]!;
      return [() => o.div(g!, b), () => o.neg(o.div(sumToShape(o.mul(g!, n.outputs[0]!), b), b))];
    },
  },
  Pow: {
    infer: elementwise(),
    vjp: (n, [g]) => {
      const [x, p] = n.inputs as [Tensor, Tensor];
      const y = n.outputs[0]!;
      return [() => o.mul(g!, o.mul(p, o.pow(x, o.sub(p, 1)))), () => o.mul(g!, o.mul(y, o.log(x)))];
    },
  },
  Min: { infer: elementwise(), vjp: (n, [g]) => [() => o.mul(g!, selectMask(n.inputs[0]!, n.inputs[1]!, o.less)), () => o.mul(g!, selectMask(n.inputs[1]!, n.inputs[0]!, o.less))] },
  Max: { infer: elementwise(), vjp: (n, [g]) => [() => o.mul(g!, selectMask(n.inputs[0]!, n.inputs[1]!, o.greater)), () => o.mul(g!, selectMask(n.inputs[1]!, n.inputs[0]!, o.greater))] },
  Equal: { infer: elementwise("bool"), vjp: noGrad },
  Less: { infer: elementwise("bool"), vjp: noGrad },
  Greater: { infer: elementwise("bool"), vjp: noGrad },
  Neg: { infer: sameAsInput, vjp: linear(-1) },
  Identity: { infer: sameAsInput, vjp: linear(1) },
  StopGradient: { infer: sameAsInput, onnx: "Identity", vjp: noGrad },
  Exp: { infer: sameAsInput, vjp: unaryRule((_x, y, g) => o.mul(g, y)) },
  Log: { infer: sameAsInput, vjp: unaryRule((x, _y, g) => o.div(g, x)) },
  Sqrt: { infer: sameAsInput, vjp: unaryRule((_x, y, g) => o.div(o.mul(g, 0.5), y)) },
  Sigmoid: { infer: sameAsInput, vjp: unaryRule((_x, y, g) => o.mul(g, o.mul(y, o.sub(1, y)))) },
  Cast: {
    infer: (xs, meta) => [{ shape: xs[0]!.shape, dtype: meta.to as DType }],
    vjp: (n, [g]) => [isFloat(n.inputs[0]!.dtype) && isFloat(g!.dtype) ? () => o.cast(g!, n.inputs[0]!.dtype) : null],
  },
  MatMul: {
    infer: matmulInfo,
    vjp: (n, [g]) => {
      const [a, b] = n.inputs as [Tensor, Tensor];
      return [() => o.matmul(g!, o.transposeLast2(b)), () => (b.rank === 2 && a.rank > 2 ? sharedWeightGrad(a, g!) : o.matmul(o.transposeLast2(a), g!))];
    },
  },
  ReduceSum: { infer: reduceInfo, vjp: (n, [g]) => [() => unreduce(g!, n), null] },
  ReduceMean: {
    infer: reduceInfo,
    vjp: (n, [g]) => {
      const x = n.inputs[0]!;
      // The count may be symbolic: elements in / elements out, at run time.
      const count = o.div(o.cast(o.sizeOf(x), x.dtype), o.cast(o.sizeOf(n.outputs[0]!), x.dtype));
      return [() => o.div(unreduce(g!, n), count), null];
    },
  },
  ReduceMax: {
    infer: reduceInfo,
    vjp: (n, [g]) => {
      const x = n.inputs[0]!;
      return [
        () => {
          const keptMax = n.meta.keepdims ? n.outputs[0]! : o.unsqueeze(n.outputs[0]!, n.meta.axes as number[]);
          const mask = o.cast(o.equal(x, keptMax), x.dtype);
          // Ties share the gradient, so it sums to the output's.
          const ties = o.reduceSum(mask, n.meta.axes as number[], true);
          return o.mul(unreduce(g!, n), o.div(mask, ties));
        },
        null,
      ];
    },
  },
  Reshape: { infer: reshapeInfo, vjp: (n, [g]) => [() => o.reshapeLike(g!, n.inputs[0]!), null] },
  ReshapeLike: { infer: (xs, meta) => [{ shape: meta.shape as Shape, dtype: xs[0]!.dtype }], onnx: "Reshape", vjp: (n, [g]) => [() => o.reshapeLike(g!, n.inputs[0]!), null] },
  Shape: { infer: (xs) => [{ shape: [xs[0]!.rank], dtype: "int64" }], vjp: noGrad },
  Size: { infer: () => [{ shape: [], dtype: "int64" }], vjp: noGrad },
  Transpose: {
    infer: (xs, meta) => {
      const x = xs[0]!;
      const perm = meta.perm as number[];
      if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) throw new ShapeError(`Transpose: perm [${perm.join(", ")}] does not fit ${formatShape(x.shape)}`);
      return [{ shape: perm.map((p) => x.shape[p]!), dtype: x.dtype }];
    },
    vjp: (n, [g]) => {
      const perm = n.meta.perm as number[];
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return [() => o.transpose(g!, inverse)];
    },
  },
  Concat: { infer: concatInfo, vjp: (n, [g]) => concatGrad(n, g!) },
  Slice: { infer: sliceInfo, vjp: (n, [g]) => [() => sliceGrad(n, g!), null, null, null] },
  Split: {
    infer: (xs, meta, op) => {
      const x = xs[0]!;
      const { axis, sizes } = meta as { axis: number; sizes: number[] };
      const d = x.shape[axis]!;
      const total = sizes.reduce((a, b) => a + b, 0);
      if (typeof d === "number" && d !== total) throw new ShapeError(`${op}: sizes [${sizes.join(", ")}] sum to ${total}, but axis ${axis} of ${formatShape(x.shape)} has ${d}`);
      return sizes.map((s) => ({ shape: x.shape.map((e, i) => (i === axis ? s : e)), dtype: x.dtype }));
    },
    vjp: (n, gs) => [() => o.concat(gs.map((g, k) => g ?? o.zerosLike(n.outputs[k]!)), n.meta.axis as number), null],
  },
  Unsqueeze: {
    infer: (xs, meta) => {
      const axes = meta.axes as number[];
      const shape: Dim[] = [...xs[0]!.shape];
      for (const a of axes) shape.splice(a, 0, 1);
      return [{ shape, dtype: xs[0]!.dtype }];
    },
    vjp: (n, [g]) => [() => o.reshapeLike(g!, n.inputs[0]!), null],
  },
  Squeeze: {
    infer: (xs, meta) => {
      const x = xs[0]!;
      const axes = meta.axes as number[];
      for (const a of axes) if (x.shape[a] !== 1 && typeof x.shape[a] === "number") throw new ShapeError(`Squeeze: axis ${a} of ${formatShape(x.shape)} is not 1`);
      return [{ shape: x.shape.filter((_, i) => !axes.includes(i)), dtype: x.dtype }];
    },
    vjp: (n, [g]) => [() => o.reshapeLike(g!, n.inputs[0]!), null],
  },
  Expand: {
    infer: (xs, meta) => [{ shape: broadcastShapes("Expand", xs[0]!.shape, meta.shape as Shape), dtype: xs[0]!.dtype }],
    vjp: (_n, [g]) => [() => g!, null],
  },
  Where: {
    infer: (xs, _m, op) => {
      const [c, a, b] = xs as [Tensor, Tensor, Tensor];
      if (c.dtype !== "bool") throw new ShapeError(`Where: condition must be bool, found ${c.dtype}`);
      const dtype = sameDtype(op, [a, b]);
      return [{ shape: broadcastShapes(op, broadcastShapes(op, c.shape, a.shape), b.shape), dtype }];
    },
    vjp: (n, [g]) => {
      const c = n.inputs[0]!;
      return [null, () => o.where(c, g!, 0), () => o.where(c, 0, g!)];
    },
  },
  Clip: {
    infer: sameAsInput,
    vjp: (n, [g]) => {
      const [x, lo, hi] = n.inputs as [Tensor, Tensor, Tensor];
      return [() => o.mul(g!, o.mul(o.cast(o.greater(x, lo), x.dtype), o.cast(o.less(x, hi), x.dtype))), null, null];
    },
  },
  Gather: {
    infer: (xs, meta) => {
      const [data, idx] = xs as [Tensor, Tensor];
      if (idx.dtype !== "int64" && idx.dtype !== "int32") throw new ShapeError(`Gather: indices must be int64 or int32, found ${idx.dtype}`);
      const axis = meta.axis as number;
      return [{ shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)], dtype: data.dtype }];
    },
    vjp: (n, [g]) => [() => gatherGrad(n, g!), null],
  },
  GatherElements: {
    infer: (xs) => {
      const [data, idx] = xs as [Tensor, Tensor];
      if (idx.rank !== data.rank) throw new ShapeError(`GatherElements: data ${formatShape(data.shape)} and indices ${formatShape(idx.shape)} must have the same rank`);
      return [{ shape: idx.shape, dtype: data.dtype }];
    },
    vjp: (n, [g]) => [() => o.scatterElementsAdd(o.zerosLike(n.inputs[0]!), n.inputs[1]!, g!, n.meta.axis as number), null],
  },
  ConstantOfShape: { infer: (_xs, meta) => [{ shape: meta.shape as Shape, dtype: meta.dtype as DType }], vjp: noGrad },
  ScatterElements: { infer: sameAsInput, vjp: null },
  ScatterND: { infer: sameAsInput, vjp: null },
  Pad: {
    infer: (xs, meta) => {
      const x = xs[0]!;
      const pads = meta.pads as number[];
      return [{ shape: x.shape.map((d, i) => (typeof d === "number" ? d + pads[i]! + pads[i + x.rank]! : pads[i] === 0 && pads[i + x.rank] === 0 ? d : `${d}+pad`)), dtype: x.dtype }];
    },
    vjp: null,
  },
};

/** Ops with a gradient rule (for the gradient-check table's coverage test). */
export const DIFFERENTIABLE_OPS = Object.entries(OP_TABLE)
  .filter(([, d]) => d.vjp !== null && d.vjp !== noGrad)
  .map(([name]) => name);

