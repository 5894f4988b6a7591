// Gradient checks through ONNX Runtime in float64: the backward graph's gradients against
// central finite differences of the forward graph, element by element and along a random
// direction (⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩).
import { Rng } from "../util/rng.js";
import { grad } from "./autodiff.js";
import { Graph, type Tensor } from "./graph.js";
import { exportModel } from "./onnx-export.js";
import * as o from "./ops.js";
import { OrtProgram, type HostTensor } from "./ort-session.js";

/** One input of a checked function: float64 values to differentiate, or fixed int64 data. */
export type CheckInput =
  | { kind: "float"; shape: number[]; values?: (rng: Rng, n: number) => Float64Array }
  | { kind: "int"; shape: number[]; data: number[] };

export interface GradCheckCase {
  name: string;
  inputs: CheckInput[];
  /** The function under test; its output may have any shape. */
  fn: (...xs: Tensor[]) => Tensor;
}

export interface GradCheckResult {
  /** max |fd − analytic| / max(1, |fd|, |analytic|) over every input element. */
  maxRelError: number;
  /** The same measure for the directional identity. */
  directionalRelError: number;
  elements: number;
  /** The ops of the forward graph (for coverage). */
  ops: string[];
}

const EPS = 1e-6;

/** Check `c` with seed `seed`. */
export async function gradCheck(c: GradCheckCase, seed = 1): Promise<GradCheckResult> {
  const rng = new Rng(seed);
  const g = new Graph();
  const feeds: Record<string, HostTensor> = {};
  const floats: { name: string; tensor: Tensor; data: Float64Array }[] = [];
  const args = c.inputs.map((input, i) => {
    const n = input.shape.reduce((a, b) => a * b, 1);
    if (input.kind === "int") return g.constant({ dtype: "int64", dims: input.shape, data: BigInt64Array.from(input.data.map(BigInt)) });
    const tensor = g.input(`x${i}`, input.shape, "float64");
    const data = input.values ? input.values(rng, n) : Float64Array.from(rng.normals(n, 1));
    floats.push({ name: `x${i}`, tensor, data });
    feeds[`x${i}`] = { dtype: "float64", dims: input.shape, data };
    return tensor;
  });
  const out = c.fn(...args);
  const ops = [...new Set(g.nodes.map((n) => n.op))];
  const outShape = out.shape.map((d) => {
    if (typeof d !== "number") throw new Error(`${c.name}: gradient checks need static shapes, found ${out}`);
    return d;
  });
  const weights = g.input("c", outShape, "float64");
  feeds.c = { dtype: "float64", dims: outShape, data: Float64Array.from(rng.normals(outShape.reduce((a, b) => a * b, 1), 1)) };
  const loss = o.reduceSum(o.mul(out, weights));
  const grads = grad(loss, floats.map((f) => f.tensor));
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((gr, i) => (outputs[`g${i}`] = gr));
  const program = await OrtProgram.create(exportModel(g, outputs, { name: c.name }), { threads: 1 });
  try {
    const base = await program.run(feeds);
    const lossAt = async (perturb: (name: string, data: Float64Array) => Float64Array): Promise<number> => {
      const f = { ...feeds };
      for (const x of floats) f[x.name] = { dtype: "float64", dims: feeds[x.name]!.dims, data: perturb(x.name, x.data) };
      return (await program.run(f)).loss!.data[0] as number;
    };
    let maxRelError = 0;
    let elements = 0;
    for (const [k, x] of floats.entries()) {
      const analytic = base[`g${k}`]!.data as Float64Array;
      for (let i = 0; i < x.data.length; i++) {
        const shifted = (delta: number) => (name: string, data: Float64Array) => {
          if (name !== x.name) return data;
          const copy = Float64Array.from(data);
          copy[i]! += delta;
          return copy;
        };
        const fd = ((await lossAt(shifted(EPS))) - (await lossAt(shifted(-EPS)))) / (2 * EPS);
        maxRelError = Math.max(maxRelError, relError(fd, analytic[i]!));
        elements++;
      }
    }
    // Directional: a random tangent over all inputs at once.
    const tangents = new Map(floats.map((x) => [x.name, Float64Array.from(rng.normals(x.data.length, 1))]));
    const along = (s: number) => (name: string, data: Float64Array) => data.map((v, i) => v + s * tangents.get(name)![i]!);
    const jvp = ((await lossAt(along(EPS))) - (await lossAt(along(-EPS)))) / (2 * EPS);
    let vjp = 0;
    floats.forEach((x, k) => {
      const analytic = base[`g${k}`]!.data as Float64Array;
      const t = tangents.get(x.name)!;
      for (let i = 0; i < t.length; i++) vjp += t[i]! * analytic[i]!;
    });
    return { maxRelError, directionalRelError: relError(jvp, vjp), elements, ops };
  } finally {
    await program.dispose();
  }
}

function relError(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1, Math.abs(a), Math.abs(b));
}
