import onnxPkg from "onnx-proto";
import * as ort from "onnxruntime-node";
const { onnx } = onnxPkg;
console.log(Object.keys(onnxPkg).slice(0,5), typeof onnx.ModelProto.encode, onnx.TensorProto.DataType.DOUBLE);
const f64 = (name, dims) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.DOUBLE, shape: { dim: dims.map(d => typeof d === "string" ? { dimParam: d } : { dimValue: d }) } } } });
const i64 = (name, dims) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: dims.map(d => typeof d === "string" ? { dimParam: d } : { dimValue: d }) } } } });
const graph = {
  name: "g",
  node: [
    { opType: "Shape", input: ["data"], output: ["s"] },
    { opType: "ConstantOfShape", input: ["s"], output: ["z"], attribute: [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims: [1], dataType: onnx.TensorProto.DataType.DOUBLE, rawData: new Uint8Array(new Float64Array([0]).buffer) } }] },
    { opType: "Unsqueeze", input: ["idx", "ax"], output: ["idx2"] },
    { opType: "ScatterND", input: ["z", "idx2", "upd"], output: ["out"], attribute: [{ name: "reduction", type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode("add") }] },
  ],
  initializer: [{ name: "ax", dims: [1], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(new BigInt64Array([-1n]).buffer) }],
  input: [f64("data", [4, 2]), i64("idx", ["B"]), f64("upd", ["B", 2])],
  output: [f64("out", [4, 2])],
};
const model = { irVersion: 8, opsetImport: [{ domain: "", version: 18 }], producerName: "probe", graph };
const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
const t0 = performance.now();
const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
console.log("session ms", performance.now() - t0);
const r = await s.run({ data: new ort.Tensor("float64", new Float64Array(8), [4, 2]), idx: new ort.Tensor("int64", BigInt64Array.from([1n, 1n, 3n]), [3]), upd: new ort.Tensor("float64", Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]) });
console.log(r.out.data);
