// Serializes a Graph (the nodes needed for the requested outputs) to an ONNX ModelProto.
import onnxProto from "onnx-proto";
import { DTYPE_BYTES, ONNX_DTYPE } from "./dtype.js";
import type { AttrValue, ConstantData, Graph, Tensor } from "./graph.js";
import { OP_TABLE } from "./op-table.js";
import type { Shape } from "./shape.js";

const { onnx } = onnxProto;

/** The opset the emitted ops follow (axes as inputs for Reduce*, ScatterND reduction). */
export const OPSET = 18;
const IR_VERSION = 8;

/** A constant stored beside the model rather than inside it. */
export interface ExternalTensor {
  /** File name, relative to the model file. */
  location: string;
  bytes: Uint8Array;
}

/** A serialized model and what running it needs. */
export interface ExportedModel {
  model: Uint8Array;
  /** Graph inputs the outputs depend on, in order, with their shapes. */
  inputs: { name: string; shape: Shape; dtype: string }[];
  outputs: string[];
  external: ExternalTensor[];
  /** Whether any value is float64 (ORT's contrib fusions have float32-only kernels). */
  usesFloat64: boolean;
  /**
   * Whether it holds values marked for recomputation (Graph.recompute) and so, in a gradient
   * graph, identical forward and backward nodes that must not be merged back into one.
   */
  recomputes: boolean;
  /** Bytes of its constants (initializers, inline and external): what a session copies in. */
  constantBytes: number;
}

export interface ExportOptions {
  name?: string;
  /** Store constants of at least this many bytes as external data (protobuf caps a model at 2 GiB). */
  externalThresholdBytes?: number;
}

const bytesOf = (c: ConstantData): Uint8Array => new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.length * DTYPE_BYTES[c.dtype]);

function valueInfo(name: string, shape: Shape, dtype: keyof typeof ONNX_DTYPE): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: ONNX_DTYPE[dtype], shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ("int" in v) return { name, type: T.INT, i: v.int };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  if ("ints" in v) return { name, type: T.INTS, ints: [...v.ints] };
  if ("string" in v) return { name, type: T.STRING, s: new TextEncoder().encode(v.string) };
  return { name, type: T.TENSOR, t: { dims: [...v.tensor.dims], dataType: ONNX_DTYPE[v.tensor.dtype], rawData: bytesOf(v.tensor) } };
}

/** Serialize the part of `graph` that computes `outputs` (name → tensor). */
export function exportModel(graph: Graph, outputs: Readonly<Record<string, Tensor>>, options: ExportOptions = {}): ExportedModel {
  // Backward reachability from the outputs: only needed nodes are emitted.
  const needed = new Set<number>();
  const stack = Object.values(outputs);
  const neededNodes = new Set<number>();
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (needed.has(t.id)) continue;
    needed.add(t.id);
    if (t.producer && !neededNodes.has(t.producer.id)) {
      neededNodes.add(t.producer.id);
      stack.push(...t.producer.inputs);
    }
  }

  const names = new Map<number, string>();
  for (const input of graph.inputs) names.set(input.tensor.id, input.name);
  for (const [id, c] of graph.constants) names.set(id, c.name ?? `c${id}`);
  const nameOf = (t: Tensor): string => names.get(t.id) ?? `t${t.id}`;

  const nodes: onnxProto.onnx.INodeProto[] = [];
  let usesFloat64 = false;
  let recomputes = false;
  for (const node of graph.nodes) {
    if (!neededNodes.has(node.id)) continue;
    if (graph.recomputed.has(node.id)) recomputes = true;
    if (node.outputs.some((t) => t.dtype === "float64")) usesFloat64 = true;
    const def = OP_TABLE[node.op]!;
    nodes.push({
      opType: def.onnx ?? node.op,
      name: `n${node.id}_${node.op}`,
      input: node.inputs.map(nameOf),
      output: node.outputs.map(nameOf),
      attribute: Object.entries(node.attrs).map(([k, v]) => attribute(k, v)),
    });
  }
  for (const [name, t] of Object.entries(outputs)) nodes.push({ opType: "Identity", name: `out_${name}`, input: [nameOf(t)], output: [name] });

  const threshold = options.externalThresholdBytes ?? Infinity;
  const external: ExternalTensor[] = [];
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  let constantBytes = 0;
  for (const [id, c] of graph.constants) {
    if (!needed.has(id)) continue;
    const bytes = bytesOf(c.value);
    constantBytes += bytes.length;
    const base = { name: nameOf({ id } as Tensor), dims: [...c.value.dims], dataType: ONNX_DTYPE[c.value.dtype] };
    if (bytes.length >= threshold) {
      const location = `${base.name.replace(/[^A-Za-z0-9_.-]/g, "_")}.bin`;
      external.push({ location, bytes });
      initializer.push({ ...base, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: "location", value: location }, { key: "offset", value: "0" }, { key: "length", value: String(bytes.length) }] });
    } else {
      initializer.push({ ...base, rawData: bytes });
    }
  }

  const inputs = graph.inputs.filter((i) => needed.has(i.tensor.id));
  const model = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: OPSET }],
      producerName: "metis-workbench",
      graph: {
        name: options.name ?? "graph",
        node: nodes,
        initializer,
        input: inputs.map((i) => valueInfo(i.name, i.tensor.shape, i.tensor.dtype)),
        output: Object.entries(outputs).map(([name, t]) => valueInfo(name, t.shape, t.dtype)),
      },
    }),
  ).finish();
  return {
    model,
    inputs: inputs.map((i) => ({ name: i.name, shape: i.tensor.shape, dtype: i.tensor.dtype })),
    outputs: Object.keys(outputs),
    external,
    usesFloat64,
    recomputes,
    constantBytes,
  };
}
