// The gradient-check table: every primitive and composite, float64 finite differences through
// ONNX Runtime, plus the directional identity ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩ on random shapes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Rng } from "../util/rng.js";
import { grad } from "./autodiff.js";
import { attention, crossEntropy, logSoftmax, rmsNorm, rope, silu, softmax, tokenLogProbs } from "./composites.js";
import { Graph, type Tensor } from "./graph.js";
import { gradCheck, type CheckInput, type GradCheckCase } from "./gradcheck.js";
import { exportModel } from "./onnx-export.js";
import { DIFFERENTIABLE_OPS } from "./op-table.js";
import * as o from "./ops.js";
import { OrtProgram } from "./ort-session.js";

const f = (...shape: number[]): CheckInput => ({ kind: "float", shape });
const positive = (...shape: number[]): CheckInput => ({ kind: "float", shape, values: (rng: Rng, n: number) => Float64Array.from({ length: n }, () => 0.5 + 1.5 * rng.uniform()) });
const int = (shape: number[], data: number[]): CheckInput => ({ kind: "int", shape, data });
const causal = (t: number): Tensor => {
  const g = currentGraph!;
  const data = Float64Array.from({ length: t * t }, (_, i) => (i % t > Math.floor(i / t) ? -1e9 : 0));
  return g.constant({ dtype: "float64", dims: [t, t], data });
};
let currentGraph: Graph | null = null;
const withGraph = (fn: (...xs: Tensor[]) => Tensor) => (...xs: Tensor[]): Tensor => {
  currentGraph = xs[0]!.graph;
  return fn(...xs);
};

const TABLE: GradCheckCase[] = [
  { name: "Add (broadcast)", inputs: [f(2, 3), f(3)], fn: o.add },
  { name: "Sub (broadcast)", inputs: [f(2, 3), f(2, 1)], fn: o.sub },
  { name: "Mul (broadcast)", inputs: [f(2, 3), f(1, 3)], fn: o.mul },
  { name: "Div", inputs: [f(2, 3), positive(3)], fn: o.div },
  { name: "Pow", inputs: [positive(2, 3), f(2, 3)], fn: o.pow },
  { name: "Min", inputs: [f(2, 3), f(2, 3)], fn: o.minimum },
  { name: "Max (broadcast)", inputs: [f(2, 3), f(3)], fn: o.maximum },
  { name: "Neg", inputs: [f(4)], fn: o.neg },
  { name: "Exp", inputs: [f(2, 2)], fn: o.exp },
  { name: "Log", inputs: [positive(5)], fn: o.log },
  { name: "Sqrt", inputs: [positive(5)], fn: o.sqrt },
  { name: "Sigmoid", inputs: [f(5)], fn: o.sigmoid },
  { name: "Identity", inputs: [f(3)], fn: o.identity },
  { name: "Cast (float64 → float64)", inputs: [f(3)], fn: (x) => o.mul(x.graph.apply1("Cast", [x], { to: { int: 11 } }, { to: "float64" }), 2) },
  { name: "MatMul", inputs: [f(2, 3), f(3, 4)], fn: o.matmul },
  { name: "MatMul (batched, broadcast batch)", inputs: [f(2, 2, 3), f(3, 4)], fn: o.matmul },
  { name: "MatMul (batch 1 against 2)", inputs: [f(1, 2, 3), f(2, 3, 2)], fn: o.matmul },
  { name: "ReduceSum", inputs: [f(2, 3, 2)], fn: (x) => o.reduceSum(x, [1]) },
  { name: "ReduceMean keepdims", inputs: [f(2, 3, 2)], fn: (x) => o.reduceMean(x, [0, 2], true) },
  { name: "ReduceMax", inputs: [f(3, 4)], fn: (x) => o.reduceMax(x, [-1]) },
  { name: "Reshape", inputs: [f(2, 3, 2)], fn: (x) => o.reshape(x, [3, 4]) },
  { name: "ReshapeLike", inputs: [f(2, 6), f(3, 4)], fn: (x, y) => o.add(o.reshapeLike(x, y), y) },
  { name: "Transpose", inputs: [f(2, 3, 4)], fn: (x) => o.transpose(x, [2, 0, 1]) },
  { name: "Concat", inputs: [f(2, 1), f(2, 3)], fn: (x, y) => o.concat([x, y, x], 1) },
  { name: "Slice", inputs: [f(4, 5)], fn: (x) => o.slice(x, [1, -4], [3, 100], [0, 1]) },
  { name: "Split (both parts)", inputs: [f(2, 6)], fn: (x) => { const [a, b] = o.split(x, [2, 4], 1); return o.concat([b!, o.mul(a!, a!)], 1); } },
  { name: "Split (one part unused)", inputs: [f(2, 6)], fn: (x) => o.split(x, [2, 4], 1)[1]! },
  { name: "Unsqueeze", inputs: [f(2, 3)], fn: (x) => o.unsqueeze(x, [0, 3]) },
  { name: "Squeeze", inputs: [f(2, 1, 3)], fn: (x) => o.squeeze(x, [1]) },
  { name: "Expand", inputs: [f(3, 1)], fn: (x) => o.expand(x, [2, 3, 4]) },
  { name: "Where", inputs: [f(2, 3), f(3)], fn: (x, y) => o.where(o.greater(x, 0), o.mul(x, 2), y) },
  { name: "Clip", inputs: [f(3, 4)], fn: (x) => o.clip(x, -0.5, 0.5) },
  { name: "Gather axis 0 (repeated indices)", inputs: [f(3, 4), int([2, 2], [0, 2, 2, 1])], fn: (x, i) => o.gather(x, i!, 0) },
  { name: "Gather axis 1", inputs: [f(2, 3, 2), int([3], [0, 2, 2])], fn: (x, i) => o.gather(x, i!, 1) },
  { name: "GatherElements", inputs: [f(2, 3), int([2, 2], [0, 0, 2, 1])], fn: (x, i) => o.gatherElements(x, i!, 1) },
  { name: "reused value (x·x + exp x)", inputs: [f(2, 3)], fn: (x) => o.add(o.mul(x, x), o.exp(x)) },
  { name: "SiLU", inputs: [f(2, 5)], fn: silu },
  { name: "Softmax", inputs: [f(2, 5)], fn: (x) => softmax(x, -1) },
  { name: "LogSoftmax axis 0", inputs: [f(3, 4)], fn: (x) => logSoftmax(x, 0) },
  { name: "RMSNorm", inputs: [f(2, 3, 8), f(8)], fn: (x, w) => rmsNorm(x, w!, 1e-5) },
  { name: "RoPE neox", inputs: [f(1, 3, 2, 4), f(3, 2), f(3, 2)], fn: (x, c, s) => rope(x, c!, s!, "neox") },
  { name: "RoPE norm", inputs: [f(1, 3, 2, 4), f(3, 2), f(3, 2)], fn: (x, c, s) => rope(x, c!, s!, "norm") },
  { name: "causal GQA attention", inputs: [f(1, 4, 3, 4), f(1, 2, 3, 4), f(1, 2, 3, 4)], fn: withGraph((q, k, v) => attention(q, k!, v!, causal(3))) },
  { name: "token log-probs", inputs: [f(2, 3, 5), int([2, 3], [0, 4, 1, 2, 2, 3])], fn: (x, t) => tokenLogProbs(x, t!) },
  { name: "cross-entropy", inputs: [f(4, 5), int([4], [1, 0, 4, 4])], fn: (x, t) => crossEntropy(x, t!) },
  { name: "weighted cross-entropy", inputs: [f(4, 5), int([4], [1, 0, 4, 4]), positive(4)], fn: (x, t, w) => crossEntropy(x, t!, w!) },
];

describe("gradient check table (float64, central differences, relative error < 1e-6)", () => {
  const covered = new Set<string>();
  it.each(TABLE.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const r = await gradCheck(c, 7);
    r.ops.forEach((op) => covered.add(op));
    expect(r.elements).toBeGreaterThan(0);
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(r.directionalRelError).toBeLessThan(1e-6);
  });

  it("covers every primitive that has a gradient rule", () => {
    expect(DIFFERENTIABLE_OPS.filter((op) => !covered.has(op))).toEqual([]);
  });
});

describe("directional identity on random shapes", () => {
  const dims = fc.integer({ min: 1, max: 3 });
  const shape = fc.array(dims, { minLength: 1, maxLength: 3 });

  it("broadcasting elementwise ops", async () => {
    await fc.assert(
      fc.asyncProperty(shape, fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.constantFrom(o.add, o.mul, o.sub), async (s, keep, op) => {
        // The second operand drops leading axes and squashes some axes to 1.
        const other = s.slice(s.length - Math.max(1, s.length - 1)).map((d, i) => (keep[i] ? d : 1));
        const r = await gradCheck({ name: "broadcast", inputs: [f(...s), f(...other)], fn: (x, y) => o.exp(op(x, y!)) });
        expect(r.directionalRelError).toBeLessThan(1e-6);
      }),
      { numRuns: 12, seed: 3 },
    );
  });

  it("batched matmul, reductions and softmax", async () => {
    await fc.assert(
      fc.asyncProperty(dims, dims, dims, dims, async (b, m, k, n) => {
        const r = await gradCheck({
          name: "mlp",
          inputs: [f(b, m, k), f(k, n)],
          fn: (x, w) => o.reduceMean(softmax(o.matmul(x, w!), -1), [0], false),
        });
        expect(r.directionalRelError).toBeLessThan(1e-6);
        expect(r.maxRelError).toBeLessThan(1e-6);
      }),
      { numRuns: 8, seed: 5 },
    );
  });
});

describe("walker invariants", () => {
  it("stop-gradient blocks the gradient; a tensor the loss ignores gets zeros", async () => {
    const g = new Graph();
    const x = g.input("x", [3], "float64");
    const y = g.input("y", [3], "float64");
    const z = g.input("z", [2], "float64");
    const loss = o.reduceSum(o.mul(o.stopGradient(x), y));
    const [gx, gy, gz] = grad(loss, [x, y, z]);
    const program = await OrtProgram.create(exportModel(g, { gx: gx!, gy: gy!, gz: gz! }));
    const out = await program.run({ x: { dtype: "float64", dims: [3], data: Float64Array.from([1, 2, 3]) }, y: { dtype: "float64", dims: [3], data: Float64Array.from([4, 5, 6]) }, z: { dtype: "float64", dims: [2], data: new Float64Array(2) } });
    expect(Array.from(out.gx!.data as Float64Array)).toEqual([0, 0, 0]);
    expect(Array.from(out.gy!.data as Float64Array)).toEqual([1, 2, 3]);
    expect(Array.from(out.gz!.data as Float64Array)).toEqual([0, 0]);
    await program.dispose();
  });

  it("a float32 round trip through Cast passes the gradient back in the input's type", async () => {
    const g = new Graph();
    const x = g.input("x", [2], "float64");
    const loss = o.reduceSum(o.mul(o.cast(o.cast(x, "float32"), "float64"), 3));
    const [gx] = grad(loss, [x]);
    expect(gx!.dtype).toBe("float64");
    const program = await OrtProgram.create(exportModel(g, { gx: gx! }));
    const out = await program.run({ x: { dtype: "float64", dims: [2], data: Float64Array.from([0.1, 0.2]) } });
    expect(Array.from(out.gx!.data as Float64Array)).toEqual([3, 3]);
    await program.dispose();
  });

  it("a missing rule names the op and the node", () => {
    const g = new Graph();
    const x = g.input("x", [3, 2], "float32");
    const scattered = o.scatterNDAdd(x, g.constant({ dtype: "int64", dims: [1, 1], data: BigInt64Array.from([0n]) }), g.input("u", [1, 2], "float32"));
    expect(() => grad(o.reduceSum(scattered), [x])).toThrow(/no gradient rule for ScatterND \(node \d+/);
  });

  it("shape errors name the op and both shapes", () => {
    const g = new Graph();
    const a = g.input("a", ["B", 3], "float32");
    expect(() => o.add(a, g.input("b", [4], "float32"))).toThrow("Add: shapes [B, 3] and [4] do not broadcast (dimension 1: 3 vs 4)");
    expect(() => o.matmul(a, g.input("w", [4, 2], "float32"))).toThrow("MatMul: inner dimensions differ: [B, 3] and [4, 2]");
    expect(() => o.add(a, g.input("i", [3], "int64"))).toThrow("Add: operands have dtypes float32 and int64");
  });
});
