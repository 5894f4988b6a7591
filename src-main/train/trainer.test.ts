import { describe, expect, it, vi } from "vitest";
import { Rng } from "../util/rng.js";
import { adamwStep, DEFAULT_ADAMW } from "./adamw.js";
import { silu } from "./composites.js";
import { Graph } from "./graph.js";
import { causalMask, f32, i64, ropeTables } from "./host-tensor.js";
import { exportModel } from "./onnx-export.js";
import * as o from "./ops.js";
import { OrtProgram, ProgramCache } from "./ort-session.js";
import { toyTrainSpec } from "./toy-transformer.js";
import { Trainer, type OptimizerPlacement, type TrainSpec } from "./trainer.js";

/** y = sin(x0) + x1·x2 − 0.5·x3 on 32 fixed points; a 4 → 32 → 1 SiLU MLP. */
function mlpSpec(seed: number): { spec: TrainSpec; batch: Record<string, ReturnType<typeof f32>> } {
  const rng = new Rng(seed);
  const n = 32;
  const x = rng.normals(n * 4, 1);
  const y = Float32Array.from({ length: n }, (_, i) => Math.sin(x[i * 4]!) + x[i * 4 + 1]! * x[i * 4 + 2]! - 0.5 * x[i * 4 + 3]!);
  const spec: TrainSpec = {
    params: [
      { name: "w1", shape: [4, 32], init: rng.normals(128, 0.5) },
      { name: "b1", shape: [32], init: new Float32Array(32) },
      { name: "w2", shape: [32, 1], init: rng.normals(32, 1 / Math.sqrt(32)) },
    ],
    data: [{ name: "x", shape: ["N", 4], dtype: "float32" }, { name: "y", shape: ["N", 1], dtype: "float32" }],
    build: (_g, p, d) => {
      const pred = o.matmul(silu(o.add(o.matmul(d.x!, p.w1!), p.b1!)), p.w2!);
      const err = o.sub(pred, d.y!);
      return { loss: o.reduceMean(o.mul(err, err)), metrics: { maxAbsError: o.reduceMax(o.maximum(err, o.neg(err))) } };
    },
  };
  return { spec, batch: { x: f32([n, 4], x), y: f32([n, 1], y) } };
}

/** Four fixed sequences to memorize: next-token prediction. */
function toyBatch(vocab: number, t: number): Record<string, ReturnType<typeof f32>> {
  const rng = new Rng(99);
  const seqs = Array.from({ length: 4 }, () => Array.from({ length: t + 1 }, () => rng.int(vocab)));
  const { cos, sin } = ropeTables(t, 8, 10000);
  return {
    tokens: i64([4, t], seqs.flatMap((s) => s.slice(0, t))),
    targets: i64([4, t], seqs.flatMap((s) => s.slice(1))),
    cos,
    sin,
    mask: causalMask(t),
  };
}

async function train(spec: TrainSpec, batch: Record<string, ReturnType<typeof f32>>, steps: number, placement: OptimizerPlacement, lr: number): Promise<{ losses: number[]; params: Record<string, Float32Array>; trainer: Trainer }> {
  const trainer = await Trainer.create(spec, { optimizer: placement, hyper: { lr, maxGradNorm: 1 } });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push((await trainer.trainStep(batch)).loss);
  const params = Object.fromEntries(Object.entries(trainer.params()).map(([k, v]) => [k, Float32Array.from(v)]));
  return { losses, params, trainer };
}

describe("training", () => {
  it("a tiny MLP fits a regression to near zero, identically on a second run", async () => {
    const { spec, batch } = mlpSpec(1);
    const a = await train(spec, batch, 600, "js", 1e-2);
    const final = await a.trainer.evaluate(batch);
    expect(a.losses[0]).toBeGreaterThan(0.5);
    expect(final.loss).toBeLessThan(2e-3);
    expect(final.metrics.maxAbsError).toBeLessThan(0.15);
    await a.trainer.dispose();
    const b = await train(spec, batch, 600, "js", 1e-2);
    expect(b.losses).toEqual(a.losses);
    expect(b.params).toEqual(a.params);
    await b.trainer.dispose();
  });

  it("a one-block transformer memorizes its sequences, identically on a second run", async () => {
    const spec = toyTrainSpec({ vocab: 12, dim: 32, heads: 4, kvHeads: 2, ffn: 64, layers: 1, seed: 3 });
    const batch = toyBatch(12, 8);
    const a = await train(spec, batch, 150, "js", 1e-2);
    expect(a.losses[0]).toBeGreaterThan(2);
    expect(a.losses.at(-1)).toBeLessThan(0.05);
    await a.trainer.dispose();
    const b = await train(spec, batch, 150, "js", 1e-2);
    expect(b.losses).toEqual(a.losses);
    await b.trainer.dispose();
  });

  it("AdamW in the graph and in JS take the same steps", async () => {
    const { spec, batch } = mlpSpec(2);
    const js = await train(spec, batch, 20, "js", 1e-2);
    const graph = await train(spec, batch, 20, "graph", 1e-2);
    for (const [name, v] of Object.entries(js.params)) {
      const w = graph.params[name]!;
      const maxDiff = Math.max(...v.map((x, i) => Math.abs(x - w[i]!)));
      expect(maxDiff, name).toBeLessThan(1e-4);
    }
    expect(graph.losses[19]).toBeCloseTo(js.losses[19]!, 4);
    await js.trainer.dispose();
    await graph.trainer.dispose();
  });
});

describe("AdamW", () => {
  it("matches the update written out by hand, with decoupled decay and clipping", () => {
    const slot = { param: Float32Array.of(1, -2), m: Float32Array.of(0, 0), v: Float32Array.of(0, 0) };
    const hp = { ...DEFAULT_ADAMW, lr: 0.1, weightDecay: 0.5, maxGradNorm: 1 };
    const { gradNorm } = adamwStep([slot], [Float32Array.of(3, 4)], 1, hp);
    expect(gradNorm).toBe(5);
    // Clipped gradient (0.6, 0.8); after bias correction m̂ = g, v̂ = g², so the step is lr·sign(g) (up to eps).
    const expected = [1 * (1 - 0.1 * 0.5) - 0.1 * (0.6 / (0.6 + 1e-8 * (1 + 5e-7))), -2 * (1 - 0.05) - 0.1 * (0.8 / (0.8 + 1e-8))];
    expect(slot.param[0]).toBeCloseTo(expected[0]!, 6);
    expect(slot.param[1]).toBeCloseTo(expected[1]!, 6);
    expect(slot.m[0]).toBeCloseTo(0.1 * 0.6, 7);
    expect(slot.v[1]).toBeCloseTo(0.001 * 0.64, 9);
  });
});

describe("sessions", () => {
  it("run graphs with symbolic dimensions at several sizes", async () => {
    const g = new Graph();
    const x = g.input("x", ["B", 3]);
    const program = await OrtProgram.create(exportModel(g, { y: o.reduceSum(x, [1]) }));
    for (const b of [1, 4]) {
      const out = await program.run({ x: f32([b, 3], Array.from({ length: b * 3 }, (_, i) => i)) });
      expect(out.y!.dims).toEqual([b]);
    }
    await program.dispose();
    await program.dispose();
    await expect(program.run({})).rejects.toThrow(/disposed/);
  });

  it("store large constants as external data", async () => {
    const g = new Graph();
    const w = g.constant({ dtype: "float32", dims: [64, 64], data: new Rng(1).normals(4096, 1) }, "frozen.w");
    const x = g.input("x", [1, 64]);
    const exported = exportModel(g, { y: o.matmul(x, w) }, { externalThresholdBytes: 1024 });
    expect(exported.external.map((e) => e.location)).toEqual(["frozen.w.bin"]);
    expect(exported.model.length).toBeLessThan(4096);
    const inline = exportModel(g, { y: o.matmul(x, w) });
    const input = { x: f32([1, 64], new Rng(2).normals(64, 1)) };
    const [a, b] = await Promise.all([OrtProgram.create(exported), OrtProgram.create(inline)]);
    expect((await a.run(input)).y!.data).toEqual((await b.run(input)).y!.data);
    await Promise.all([a.dispose(), b.dispose()]);
  });

  it("are built once per graph and provider", async () => {
    const cache = new ProgramCache();
    const g = new Graph();
    const exported = exportModel(g, { y: o.exp(g.input("x", [2])) });
    const [p1, p2] = await Promise.all([cache.get(exported), cache.get(exported)]);
    expect(p1).toBe(p2);
    expect(cache.size).toBe(1);
    await cache.get(exported, { threads: 1 });
    expect(cache.size).toBe(2);
    await cache.dispose();
  });

  it("fall back to CPU with one log line when a GPU provider cannot start", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const g = new Graph();
    const exported = exportModel(g, { y: o.exp(g.input("x", [2])) });
    const p = await OrtProgram.create(exported, { provider: "webgpu" });
    const q = await OrtProgram.create(exported, { provider: "webgpu" });
    if (p.provider === "cpu") {
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/webgpu execution provider is unavailable .*; using CPU/);
    }
    expect((await q.run({ x: f32([2], [0, 1]) })).y!.data[1]).toBeCloseTo(Math.E, 5);
    warn.mockRestore();
    await Promise.all([p.dispose(), q.dispose()]);
  });
});

describe("frozen weights and intermediates", () => {
  it("a constant weight stays out of the update; requested intermediates come back", async () => {
    const frozen = new Rng(4).normals(8, 1);
    const spec: TrainSpec = {
      params: [{ name: "w", shape: [8], init: new Float32Array(8).fill(0.5) }],
      data: [{ name: "x", shape: ["N", 8], dtype: "float32" }],
      build: (g, p, d) => {
        const f = g.constant({ dtype: "float32", dims: [8], data: frozen }, "frozen");
        const y = o.reduceSum(o.mul(o.mul(d.x!, p.w!), f), [1]); // [N]
        return { loss: o.reduceMean(o.mul(y, y)), outputs: { y } };
      },
    };
    const trainer = await Trainer.create(spec, { hyper: { lr: 0.1 } });
    const x = f32([2, 8], new Rng(6).normals(16, 1));
    const before = (await trainer.evaluate({ x })).outputs.y!;
    const step = await trainer.trainStep({ x });
    expect(step.outputs.y!.dims).toEqual([2]);
    expect(Array.from(step.outputs.y!.data as Float32Array)).toEqual(Array.from(before.data as Float32Array));
    expect(trainer.params().w!.every((v) => v !== 0.5)).toBe(true);
    expect(Array.from(frozen)).toEqual(Array.from(new Rng(4).normals(8, 1)));
    await trainer.dispose();
  });
});
