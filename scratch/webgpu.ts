import { Graph } from "../src-main/train/graph.js";
import { exportModel } from "../src-main/train/onnx-export.js";
import * as o from "../src-main/train/ops.js";
import { OrtProgram } from "../src-main/train/ort-session.js";
const g = new Graph();
const p = await OrtProgram.create(exportModel(g, { y: o.exp(g.input("x", [2])) }), { provider: "webgpu" });
console.log(p.provider);
