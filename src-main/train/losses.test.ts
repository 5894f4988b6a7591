import { describe, expect, it } from "vitest";
import { groupAdvantages } from "./advantages.js";
import { Graph } from "./graph.js";
import { AGGREGATIONS, policyLoss, type Aggregation } from "./losses.js";
import { exportModel } from "./onnx-export.js";
import { OrtProgram } from "./ort-session.js";

/** The clipped surrogate written out element by element, as a reference. */
function reference(logp: number[][], old: number[][], adv: number[], mask: number[][], how: Aggregation, lo: number, hi: number): number {
  const per = logp.map((row, b) => row.map((l, t) => {
    const r = Math.exp(l - old[b]![t]!);
    const c = Math.min(Math.max(r, 1 - lo), 1 + hi);
    return -Math.min(r * adv[b]!, c * adv[b]!);
  }));
  const m = mask;
  if (how === "token-mean") return per.flat().reduce((s, v, i) => s + v * m.flat()[i]!, 0) / m.flat().reduce((a, b) => a + b, 0);
  if (how === "token-sum") return per.flat().reduce((s, v, i) => s + v * m.flat()[i]!, 0) / per.length;
  return per.map((row, b) => row.reduce((s, v, t) => s + v * m[b]![t]!, 0) / m[b]!.reduce((a, c) => a + c, 0)).reduce((a, c) => a + c, 0) / per.length;
}

describe("policy loss", () => {
  const logp = [[-1, -2, -0.5], [-0.3, -1.2, -2]];
  const old = [[-1.4, -2, -0.2], [-0.3, -0.7, -2]];
  const adv = [1.5, -0.8];
  const mask = [[1, 1, 0], [1, 1, 1]];
  it.each(AGGREGATIONS.map((a) => [a]))("%s matches the element-by-element reference, with clip metrics", async (how) => {
    const g = new Graph();
    const c = (name: string, rows: number[][]) => g.input(name, [rows.length, rows[0]!.length], "float64");
    const out = policyLoss(c("logp", logp), c("old", old), g.input("adv", [2], "float64"), c("mask", mask), null, { clipLow: 0.2, clipHigh: 0.28, aggregation: how, klCoef: 0 });
    const p = await OrtProgram.create(exportModel(g, { loss: out.loss, clip: out.metrics["policy/clipFrac"]! }));
    const f = (rows: number[][]) => ({ dtype: "float64" as const, dims: [rows.length, rows[0]!.length], data: Float64Array.from(rows.flat()) });
    const r = await p.run({ logp: f(logp), old: f(old), adv: { dtype: "float64", dims: [2], data: Float64Array.from(adv) }, mask: f(mask) });
    expect(r.loss!.data[0]).toBeCloseTo(reference(logp, old, adv, mask, how, 0.2, 0.28), 12);
    // Token (0,0): ratio e^0.4 = 1.49 > 1.28 with A > 0 → clipped; (1,1): ratio e^-0.5 = 0.61 < 0.8 with A < 0 → clipped. 2 of 5.
    expect(r.clip!.data[0]).toBeCloseTo(2 / 5, 12);
    await p.dispose();
  });
});

describe("group advantages", () => {
  it("centre on the group mean, scale by its std, and leave unscorable samples out", () => {
    const [a, b, c] = groupAdvantages([[1, 0, 0, 1], [1, 1, 1, 1], [1, null, 0]]);
    [1, -1, -1, 1].forEach((v, i) => expect(a![i]).toBeCloseTo(v, 5));
    expect(b).toEqual([0, 0, 0, 0]);
    expect(c![1]).toBe(0);
    expect(c![0]).toBeCloseTo(1, 5);
    expect(groupAdvantages([[2, 0]], { scaleByStd: false, eps: 0 })).toEqual([[1, -1]]);
    expect(groupAdvantages([[null, 3]])).toEqual([[0, 0]]);
  });
});
