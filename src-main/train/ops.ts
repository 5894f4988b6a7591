// Primitive operations: typed builders over Graph.apply. Each one's shape rule, gradient rule and
// ONNX emission are in op-table.ts.
import { ONNX_DTYPE, type DType } from "./dtype.js";
import type { Tensor } from "./graph.js";
import { ShapeError, formatShape, normalizeAxis, type Dim } from "./shape.js";

type Operand = Tensor | number;

/** A number becomes a scalar constant of the other operand's dtype. */
function lift(a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === "number" && typeof b === "number") throw new Error("at least one operand must be a tensor");
  const x = typeof a === "number" ? (b as Tensor).graph.scalar(a, (b as Tensor).dtype) : a;
  const y = typeof b === "number" ? x.graph.scalar(b, x.dtype) : b;
  return [x, y];
}

const binary = (op: string) => (a: Operand, b: Operand): Tensor => {
  const [x, y] = lift(a, b);
  return x.graph.apply1(op, [x, y]);
};
const unary = (op: string) => (x: Tensor): Tensor => x.graph.apply1(op, [x]);

/** Elementwise with numpy broadcasting. */
export const add = binary("Add");
export const sub = binary("Sub");
export const mul = binary("Mul");
export const div = binary("Div");
export const pow = binary("Pow");
export const minimum = binary("Min");
export const maximum = binary("Max");
export const equal = binary("Equal");
export const less = binary("Less");
export const greater = binary("Greater");
export const neg = unary("Neg");
export const exp = unary("Exp");
export const log = unary("Log");
export const sqrt = unary("Sqrt");
export const sigmoid = unary("Sigmoid");
export const identity = unary("Identity");
/** The value, with no gradient flowing back through it. */
export const stopGradient = unary("StopGradient");

/** Convert element type. */
export function cast(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  return x.graph.apply1("Cast", [x], { to: { int: ONNX_DTYPE[to] } }, { to });
}

/** Batched matrix product over the last two axes (rank ≥ 2), batch axes broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.graph.apply1("MatMul", [a, b]);
}

function axesOf(op: string, x: Tensor, axes: readonly number[] | undefined): number[] {
  const all = axes ?? x.shape.map((_, i) => i);
  const norm = all.map((a) => normalizeAxis(op, a, x.rank));
  return [...new Set(norm)].sort((p, q) => p - q);
}

function reduce(op: string, x: Tensor, axes: readonly number[] | undefined, keepdims: boolean): Tensor {
  const ax = axesOf(op, x, axes);
  return x.graph.apply1(op, [x, x.graph.int64s(ax)], { keepdims: { int: keepdims ? 1 : 0 } }, { axes: ax, keepdims });
}

/** Sum over `axes` (all when omitted). */
export const reduceSum = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce("ReduceSum", x, axes, keepdims);
/** Mean over `axes` (all when omitted). */
export const reduceMean = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce("ReduceMean", x, axes, keepdims);
/** Maximum over `axes` (all when omitted). */
export const reduceMax = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce("ReduceMax", x, axes, keepdims);

/**
 * Reshape to `shape`: numbers are literal; a name equal to the input's name at the same
 * position is copied (ONNX 0); at most one other name is inferred (ONNX -1).
 */
export function reshape(x: Tensor, shape: readonly Dim[]): Tensor {
  let inferred = 0;
  const spec = shape.map((d, i) => {
    if (typeof d === "number") return d;
    if (x.shape[i] === d) return 0;
    inferred++;
    return -1;
  });
  if (inferred > 1) throw new ShapeError(`Reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}: more than one new symbolic dimension`);
  return x.graph.apply1("Reshape", [x, x.graph.int64s(spec)], {}, { shape: [...shape] });
}

/** Reshape `x` to the (run-time) shape of `like`. */
export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  return x.graph.apply1("ReshapeLike", [x, shapeOf(like)], {}, { shape: like.shape });
}

/** The run-time shape of `x`, as an int64 vector. */
export function shapeOf(x: Tensor): Tensor {
  return x.graph.apply1("Shape", [x]);
}

/** The run-time element count of `x`, as an int64 scalar. */
export function sizeOf(x: Tensor): Tensor {
  return x.graph.apply1("Size", [x]);
}

/** Permute axes; the default reverses them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  return x.graph.apply1("Transpose", [x], { perm: { ints: p } }, { perm: p });
}

/** Swap the last two axes. */
export function transposeLast2(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}

/** Join along `axis`. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error("Concat needs at least one input");
  const a = normalizeAxis("Concat", axis, xs[0]!.rank);
  return xs[0]!.graph.apply1("Concat", xs, { axis: { int: a } }, { axis: a });
}

/** x[starts:ends] along `axes` with step 1 (ends clamp like numpy). */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Tensor {
  const ax = axes.map((a) => normalizeAxis("Slice", a, x.rank));
  const g = x.graph;
  return g.apply1("Slice", [x, g.int64s(starts), g.int64s(ends), g.int64s(ax)], {}, { starts: [...starts], ends: [...ends], axes: ax });
}

/** Split along `axis` into parts of `sizes`. */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const a = normalizeAxis("Split", axis, x.rank);
  return x.graph.apply("Split", [x, x.graph.int64s(sizes)], { axis: { int: a } }, { axis: a, sizes: [...sizes] });
}

/** Insert size-1 axes at `axes` (positions in the output). */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const ax = axes.map((a) => normalizeAxis("Unsqueeze", a, rank)).sort((p, q) => p - q);
  return x.graph.apply1("Unsqueeze", [x, x.graph.int64s(ax)], {}, { axes: ax });
}

/** Remove size-1 axes. */
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const ax = axes.map((a) => normalizeAxis("Squeeze", a, x.rank)).sort((p, q) => p - q);
  return x.graph.apply1("Squeeze", [x, x.graph.int64s(ax)], {}, { axes: ax });
}

/** Broadcast to a static shape. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  return x.graph.apply1("Expand", [x, x.graph.int64s(shape)], {}, { shape: [...shape] });
}

/** Broadcast `x` against the run-time shape of `like`. */
export function expandLike(x: Tensor, like: Tensor): Tensor {
  return x.graph.apply1("Expand", [x, shapeOf(like)], {}, { shape: like.shape });
}

/** cond ? a : b, broadcast. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [x, y] = lift(a, b);
  return cond.graph.apply1("Where", [cond, x, y]);
}

/** Clamp to [lo, hi]. */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  const g = x.graph;
  return g.apply1("Clip", [x, g.scalar(lo, x.dtype), g.scalar(hi, x.dtype)]);
}

/** Rows (or slices along `axis`) of `data` picked by int64 `indices`. */
export function gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
  const a = normalizeAxis("Gather", axis, data.rank);
  return data.graph.apply1("Gather", [data, indices], { axis: { int: a } }, { axis: a });
}

/** out[i][j] = data[i][indices[i][j]] along `axis` (same rank; output has the indices' shape). */
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  const a = normalizeAxis("GatherElements", axis, data.rank);
  return data.graph.apply1("GatherElements", [data, indices], { axis: { int: a } }, { axis: a });
}

/** Zeros of `x`'s run-time shape and dtype. */
export function zerosLike(x: Tensor): Tensor {
  const value = { dtype: x.dtype, dims: [1], data: zeroData(x.dtype) };
  return x.graph.apply1("ConstantOfShape", [shapeOf(x)], { value: { tensor: value } }, { shape: x.shape, dtype: x.dtype });
}

function zeroData(dtype: DType): Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array {
  switch (dtype) {
    case "float32": return new Float32Array(1);
    case "float64": return new Float64Array(1);
    case "float16": return new Uint16Array(1);
    case "int64": return new BigInt64Array(1);
    case "int32": return new Int32Array(1);
    case "bool": return new Uint8Array(1);
  }
}

/** data with `updates` added at `indices` along `axis` (ScatterElements, reduction add). */
export function scatterElementsAdd(data: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor {
  return data.graph.apply1("ScatterElements", [data, indices, updates], { axis: { int: axis }, reduction: { string: "add" } }, { axis });
}

/** data with `updates` added at index tuples `indices` (ScatterND, reduction add). */
export function scatterNDAdd(data: Tensor, indices: Tensor, updates: Tensor): Tensor {
  return data.graph.apply1("ScatterND", [data, indices, updates], { reduction: { string: "add" } });
}

/** Zero-pad by static amounts: pads = [begin_0, …, begin_n, end_0, …, end_n]. */
export function pad(x: Tensor, pads: readonly number[]): Tensor {
  return x.graph.apply1("Pad", [x, x.graph.int64s(pads)], {}, { pads: [...pads] });
}
