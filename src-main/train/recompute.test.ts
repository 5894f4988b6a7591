import { describe, expect, it } from "vitest";
import { grad } from "./autodiff.js";
import { Graph, type Tensor } from "./graph.js";
import { exportModel } from "./onnx-export.js";
import * as o from "./ops.js";
import { OrtProgram } from "./ort-session.js";
import { Rng } from "../util/rng.js";

/** y = Σ exp(x · W) ⊙ v, its gradient with respect to x; `mark` marks x · W and the exp for recomputation. */
function build(mark: boolean): { g: Graph; forwardNodes: number; dx: Tensor; recomputed: Tensor[] } {
  const g = new Graph();
  const x = g.input("x", [3, 4]);
  const w = g.input("w", [4, 5]);
  const v = g.input("v", [3, 5]);
  const xw = o.matmul(x, w); // [3, 5]
  const e = o.exp(xw);
  if (mark) {
    g.recompute(xw);
    g.recompute(e);
  }
  const loss = o.reduceSum(o.mul(e, v));
  const forwardNodes = g.nodes.length;
  const [dx] = grad(loss, [x]);
  return { g, forwardNodes, dx: dx!, recomputed: [xw, e] };
}

async function run(b: ReturnType<typeof build>, feeds: Record<string, Float32Array>): Promise<Float32Array> {
  const exported = exportModel(b.g, { dx: b.dx });
  const program = await OrtProgram.create(exported);
  try {
    const dims: Record<string, number[]> = { x: [3, 4], w: [4, 5], v: [3, 5] };
    const out = await program.run(Object.fromEntries(Object.entries(feeds).map(([k, data]) => [k, { dtype: "float32" as const, dims: dims[k]!, data }])));
    return out.dx!.data as Float32Array;
  } finally {
    await program.dispose();
  }
}

describe("recomputation in the backward pass", () => {
  it("no backward node reads a recomputed forward value; the gradient is unchanged", async () => {
    const lean = build(true);
    const plain = build(false);
    const ids = new Set(lean.recomputed.map((t) => t.id));
    const backward = lean.g.nodes.slice(lean.forwardNodes);
    expect(backward.filter((n) => n.inputs.some((t) => ids.has(t.id)))).toEqual([]);
    // The exp is rebuilt from a rebuilt product: two clones in the backward pass.
    expect(backward.filter((n) => n.op === "MatMul" || n.op === "Exp").length).toBeGreaterThanOrEqual(2);
    // Without marks the backward reads the forward's exp directly.
    expect(plain.g.nodes.slice(plain.forwardNodes).some((n) => n.inputs.some((t) => t.producer?.op === "Exp" && t.producer.id < plain.forwardNodes))).toBe(true);
    expect(exportModel(lean.g, { dx: lean.dx }).recomputes).toBe(true);
    expect(exportModel(plain.g, { dx: plain.dx }).recomputes).toBe(false);

    const rng = new Rng(2);
    const feeds = { x: rng.normals(12, 0.5), w: rng.normals(20, 0.5), v: rng.normals(15, 1) };
    const a = await run(lean, feeds);
    const b = await run(plain, feeds);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("refuses to mark a graph input", () => {
    const g = new Graph();
    expect(() => g.recompute(g.input("x", [2]))).toThrow(/graph input or constant/);
  });
});
