import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RftConfig } from "../rft/rft-config.js";
import { RunStore } from "../store/run-store.js";
import { useTempDir } from "../testing/temp-dir.js";
import { Rng } from "../util/rng.js";
import { readSafetensors, writeSafetensors } from "../util/safetensors.js";
import { CheckpointError, loadCheckpoint, loadLatestGoodCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { NonFiniteTrainingError, assertFiniteParams, assertFiniteStep } from "./finite-params.js";
import { f32 } from "./host-tensor.js";
import * as o from "./ops.js";
import { Trainer, type TrainSpec } from "./trainer.js";

const tmp = useTempDir();
const rng = new Rng(4);
const x = rng.normals(16 * 3, 1);
const batch = { x: f32([16, 3], x), y: f32([16, 1], Float32Array.from({ length: 16 }, (_, i) => x[i * 3]! - x[i * 3 + 2]!)) };
const spec: TrainSpec = {
  params: [
    { name: "w", shape: [3, 1], init: rng.normals(3, 0.5) },
    { name: "b", shape: [1], init: new Float32Array(1) },
  ],
  data: [{ name: "x", shape: ["N", 3], dtype: "float32" }, { name: "y", shape: ["N", 1], dtype: "float32" }],
  build: (_g, p, d) => {
    const err = o.sub(o.add(o.matmul(d.x!, p.w!), p.b!), d.y!);
    return { loss: o.reduceMean(o.mul(err, err)) };
  },
};
const snapshot = (t: Trainer): Record<string, number[]> => Object.fromEntries(Object.entries(t.params()).map(([k, v]) => [k, [...v]]));

let trainer: Trainer;
let store: RunStore;
/** Parameters as saved in each checkpoint, by step. */
const saved = new Map<number, Record<string, number[]>>();
beforeAll(async () => {
  trainer = await Trainer.create(spec, { hyper: { lr: 0.05 } });
  store = await RunStore.create(tmp.path("run"), { id: "r", createdAt: "", config: {} as RftConfig, status: "running", step: 0, history: [], lastCheckpoint: null, error: null });
  for (let step = 1; step <= 3; step++) {
    await trainer.trainStep(batch);
    saveCheckpoint(store.checkpointDir(step), trainer, { step });
    saved.set(step, snapshot(trainer));
  }
});
afterAll(() => trainer.dispose());

const fresh = (): Promise<Trainer> => Trainer.create(spec, { hyper: { lr: 0.05 } });

/** Run `corrupt` on a copy of the three-checkpoint run, then resume a fresh trainer from it. */
async function resumeAfter(name: string, corrupt: (dirs: string[]) => void): Promise<{ result: ReturnType<typeof loadLatestGoodCheckpoint<{ step: number }>> | Error; trainer: Trainer; dirs: string[] }> {
  const copy = tmp.path(name);
  cpSync(store.dir, copy, { recursive: true });
  const s = await RunStore.open(copy);
  const dirs = [1, 2, 3].map((n) => s.checkpointDir(n));
  corrupt(dirs);
  const t = await fresh();
  let result;
  try {
    result = loadLatestGoodCheckpoint<{ step: number }>(s, t);
  } catch (e) {
    result = e as Error;
  }
  return { result, trainer: t, dirs };
}

function putNaN(dir: string, tensor: string, index: number): void {
  const path = join(dir, "state.safetensors");
  const { tensors } = readSafetensors(path);
  tensors.get(tensor)!.data[index] = Number.NaN;
  writeSafetensors(path, tensors);
}

describe("resume falls back past a checkpoint that fails to load", () => {
  it.each([
    ["corrupt JSON", (d: string) => writeFileSync(join(d, "checkpoint.json"), '{"format": 1, "ste'), /checkpoint\.json: is not valid JSON/],
    ["truncated tensors", (d: string) => writeFileSync(join(d, "state.safetensors"), readFileSync(join(d, "state.safetensors")).subarray(0, 100)), /state\.safetensors: (truncated|header claims|tensor \S+ has bad offsets)/],
    ["a NaN weight", (d: string) => putNaN(d, "param:w", 2), /state\.safetensors: param:w holds NaN at element 2; expected finite values/],
    ["an infinite moment", (d: string) => { const p = join(d, "state.safetensors"); const { tensors } = readSafetensors(p); tensors.get("m:b")!.data[0] = Infinity; writeSafetensors(p, tensors); }, /m:b holds Infinity at element 0/],
  ] as const)("%s in the newest: reported, and the previous one loaded bit-exactly", async (name, corrupt, pattern) => {
    const { result, trainer: t, dirs } = await resumeAfter(name.replace(/\W/g, "-"), (d) => corrupt(d[2]!));
    if (result instanceof Error || result === null) throw result ?? new Error("no checkpoint");
    expect(result.dir).toBe(dirs[1]);
    expect(result.meta.step).toBe(2);
    expect(result.skipped).toHaveLength(1);
    expect(result.skipped[0]!.dir).toBe(dirs[2]);
    expect(result.skipped[0]!.error).toContain(dirs[2]!);
    expect(result.skipped[0]!.error).toMatch(pattern);
    expect(snapshot(t)).toEqual(saved.get(2));
    expect(t.step).toBe(2);
    await t.dispose();
  });

  it("when no checkpoint loads: an error listing each, and the trainer untouched", async () => {
    const { result, trainer: t, dirs } = await resumeAfter("all-bad", (d) => d.forEach((dir) => putNaN(dir, "param:b", 0)));
    expect(result).toBeInstanceOf(CheckpointError);
    const message = (result as Error).message;
    for (const dir of dirs) expect(message).toContain(join(dir, "state.safetensors"));
    expect(snapshot(t)).toEqual(Object.fromEntries(spec.params.map((p) => [p.name, [...p.init]])));
    await t.dispose();
  });

  it("null when the run has no checkpoint", async () => {
    const empty = await RunStore.create(tmp.path("empty"), { ...store.run.data, id: "e" });
    expect(loadLatestGoodCheckpoint(empty, trainer)).toBeNull();
  });

  it("a bad caller state counts as a failed load", async () => {
    const t = await fresh();
    const result = loadLatestGoodCheckpoint<{ step: number }>(store, t, (extra) => {
      if ((extra as { step: number }).step === 3) throw new Error("rng state missing");
    });
    expect(result?.meta.step).toBe(2);
    expect(result?.skipped[0]?.error).toMatch(/checkpoint\.json: bad caller state: rng state missing/);
    await t.dispose();
  });
});

describe("non-finite training state is refused", () => {
  it("loadCheckpoint refuses NaN weights naming the file and tensor, leaving the trainer as it was", async () => {
    const { dirs } = await resumeAfter("nan-load", (d) => putNaN(d[0]!, "v:w", 1));
    const t = await fresh();
    const before = snapshot(t);
    expect(() => loadCheckpoint(dirs[0]!, t)).toThrow(new RegExp(`${join(dirs[0]!, "state.safetensors")}: v:w holds NaN at element 1`));
    expect(snapshot(t)).toEqual(before);
    await t.dispose();
  });

  it("saveCheckpoint refuses to write NaN weights, so the previous checkpoint stays", async () => {
    const t = await fresh();
    const values = new Map(Object.entries(t.params()).map(([k, v]) => [k, { param: Float32Array.from(v).fill(Number.NaN), m: new Float32Array(v.length), v: new Float32Array(v.length) }]));
    t.restore(7, values);
    expect(() => assertFiniteParams(t)).toThrow(NonFiniteTrainingError);
    expect(() => assertFiniteParams(t, "after step 7")).toThrow(/^after step 7: param:w is NaN at element 0; training diverged/);
    const dir = tmp.path("nan-save");
    expect(() => saveCheckpoint(dir, t, {})).toThrow(/checkpoint .*nan-save not written: param:w is NaN at element 0/);
    expect(existsSync(dir)).toBe(false);
    await t.dispose();
  });

  it("assertFiniteStep names a NaN loss or an infinite gradient norm", () => {
    expect(() => assertFiniteStep({ loss: Number.NaN, gradNorm: 1 }, "step 4")).toThrow(/^step 4: loss is NaN; training diverged/);
    expect(() => assertFiniteStep({ loss: 0, gradNorm: Infinity }, "step 4")).toThrow(/^step 4: gradient norm is Infinity/);
    expect(() => assertFiniteStep({ loss: 0.5, gradNorm: 2 }, "step 4")).not.toThrow();
  });
});
