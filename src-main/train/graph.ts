// The graph builder: tensors with static (possibly symbolic) shapes and dtypes, produced by
// nodes whose shape rules, gradient rules and ONNX emission live in op-table.ts.
import { floatToHalf } from "../gguf/half.js";
import { DTYPE_BYTES, type AnyTypedArray, type DType } from "./dtype.js";
import { OP_TABLE } from "./op-table.js";
import { ShapeError, formatShape, type Dim, type Shape } from "./shape.js";

/** An ONNX attribute value: int, float, ints, string, or tensor. */
export type AttrValue = { int: number } | { float: number } | { ints: readonly number[] } | { string: string } | { tensor: ConstantData };

/** The values of a constant (an ONNX initializer). */
export interface ConstantData {
  dtype: DType;
  dims: readonly number[];
  data: AnyTypedArray;
}

/** One operation: ONNX attributes are emitted; `meta` holds static facts for shape and gradient rules. */
export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly outputs: Tensor[];
}

/** A value in a graph. */
export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly shape: Shape,
    readonly dtype: DType,
    /** The node that computes it; null for graph inputs and constants. */
    readonly producer: Node | null,
    /** Output index within the producer. */
    readonly outputIndex = 0,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `t${this.id}${formatShape(this.shape)}:${this.dtype}`;
  }
}

/** A graph input fed at run time. */
export interface GraphInput {
  name: string;
  tensor: Tensor;
}

/** Builds a dataflow graph; nodes are appended in topological order. */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: GraphInput[] = [];
  readonly constants = new Map<number, { name: string | null; value: ConstantData }>();
  /**
   * Nodes whose outputs the backward pass rebuilds instead of keeping from the forward pass
   * (autodiff.ts clones them where a gradient rule reads them): cheap values that are large, such
   * as a frozen weight cast to float32 or one vocabulary chunk of the LM head's logits.
   */
  readonly recomputed = new Set<number>();
  private nextId = 0;
  private readonly scalarCache = new Map<string, Tensor>();
  private readonly inputNames = new Set<string>();

  /** A graph input named `name` (fed at run time). */
  input(name: string, shape: readonly Dim[], dtype: DType = "float32"): Tensor {
    if (this.inputNames.has(name)) throw new Error(`graph input "${name}" is declared twice`);
    this.inputNames.add(name);
    const t = new Tensor(this, this.nextId++, [...shape], dtype, null);
    this.inputs.push({ name, tensor: t });
    return t;
  }

  /** A constant tensor stored in the model (an initializer); `name` keeps it identifiable. */
  constant(value: ConstantData, name: string | null = null): Tensor {
    const expected = value.dims.reduce((a, b) => a * b, 1);
    if (value.data.length !== expected) throw new ShapeError(`constant ${name ?? ""}: dims ${formatShape(value.dims)} hold ${expected} values, found ${value.data.length}`);
    if (value.data.BYTES_PER_ELEMENT !== DTYPE_BYTES[value.dtype]) throw new Error(`constant ${name ?? ""}: ${value.dtype} data must use ${DTYPE_BYTES[value.dtype]}-byte elements`);
    const t = new Tensor(this, this.nextId++, [...value.dims], value.dtype, null);
    this.constants.set(t.id, { name, value });
    return t;
  }

  /** A scalar constant of `dtype` (shared between uses). */
  scalar(value: number, dtype: DType): Tensor {
    const key = `${dtype}:${Object.is(value, -0) ? "-0" : value}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant({ dtype, dims: [], data: typedArrayOf(dtype, [value]) });
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** An int64 vector constant (axes, shapes, starts…). */
  int64s(values: readonly number[]): Tensor {
    return this.constant({ dtype: "int64", dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
  }

  /** Append a node; shapes and dtypes come from the op's rule. Returns its outputs. */
  apply(op: string, inputs: readonly Tensor[], attrs: Record<string, AttrValue> = {}, meta: Record<string, unknown> = {}): Tensor[] {
    const def = OP_TABLE[op];
    if (!def) throw new Error(`unknown op ${op}`);
    for (const x of inputs) if (x.graph !== this) throw new Error(`${op}: input ${x} belongs to another graph`);
    const infos = def.infer(inputs, meta, op);
    const node: Node = { id: this.nodes.length, op, inputs, attrs, meta, outputs: [] };
    node.outputs.push(...infos.map((info, i) => new Tensor(this, this.nextId++, info.shape, info.dtype, node, i)));
    this.nodes.push(node);
    return node.outputs;
  }

  /** Mark the node producing `t` as recomputed in the backward pass (see `recomputed`); returns `t`. */
  recompute(t: Tensor): Tensor {
    if (t.graph !== this) throw new Error(`recompute: ${t} belongs to another graph`);
    if (!t.producer) throw new Error(`recompute: ${t} is a graph input or constant, which is never recomputed`);
    this.recomputed.add(t.producer.id);
    return t;
  }

  /** `apply` for single-output ops. */
  apply1(op: string, inputs: readonly Tensor[], attrs: Record<string, AttrValue> = {}, meta: Record<string, unknown> = {}): Tensor {
    return this.apply(op, inputs, attrs, meta)[0]!;
  }
}

/** A typed array of `dtype` holding `values`. */
export function typedArrayOf(dtype: DType, values: readonly number[]): AnyTypedArray {
  switch (dtype) {
    case "float32": return Float32Array.from(values);
    case "float64": return Float64Array.from(values);
    case "int64": return BigInt64Array.from(values.map((v) => BigInt(v)));
    case "int32": return Int32Array.from(values);
    case "bool": return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
    case "float16": return Uint16Array.from(values.map(floatToHalf));
  }
}
