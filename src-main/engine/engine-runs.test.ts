// Issue 13, "runs you can tell apart" and "did it help": run names, the Runs table's facts, an
// evaluation set held out of the training set (never trained on), deleting runs, models and
// datasets (only the workbench's own copies), and the presets New run shows.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTaskRows } from "../datasets/default-datasets.js";
import type { EngineEvent } from "../protocol/protocol.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeTinyModel } from "../testing/tiny-files.js";
import { Engine } from "./engine.js";
import { until } from "../testing/until.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();
let engine: Engine;
const events: EngineEvent[] = [];

beforeAll(async () => {
  engine = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
  engine.onEvent((e) => events.push(e));
});
afterAll(() => engine?.close());


/** 40 rows of the built-in training set, imported as the user's own dataset. */
async function importSmallDataset(name: string): Promise<{ id: string; path: string; source: string }> {
  const source = tmp.path(`${name}.jsonl`);
  writeFileSync(source, readFileSync(root("resources/datasets/synthetic-train.jsonl"), "utf8").split("\n").slice(0, 40).join("\n") + "\n");
  engine.grant(source);
  const entry = (await engine.handle("datasets.import", { source, name })) as { id: string; path: string };
  return { ...entry, source };
}

type Listed = { id: string; name: string; modelName: string; datasetName: string; status: string; eval: { kind: string; percent?: number; rows?: number }; summary: { steps: number; durationMs: number; recentStepMs: number[]; heldOut: { step: number; passRate: number } | null }; firstScheduler: string };
const listed = async (runId: string): Promise<Listed | undefined> => ((await engine.handle("runs.list", {})) as Listed[]).find((r) => r.id === runId);

describe("a run with a held-out share of its dataset", () => {
  it("trains only on the rest, measures on the held-out rows, is named and summarised; cannot be deleted (nor its dataset) while it trains", async () => {
    const ds = await importSmallDataset("small");
    const { runId } = (await engine.handle("runs.start", {
      config: { dataset: ds.id, scheduler: "uniform", steps: 60, batchSize: 4, groupSize: 2, maxTokens: 8, evalEvery: 1, evalItems: 4, evalSamples: 2 },
      eval: { kind: "holdout", percent: 25 },
    })) as { runId: string };
    await until(() => events.some((e) => e.type === "run.step" && e.runId === runId && e.metrics.step === 2));

    // While it trains: no delete of the run, nor of the dataset it was split from.
    await expect(engine.handle("runs.delete", { runId })).rejects.toThrow(/is running: pause or stop it/);
    await expect(engine.handle("datasets.delete", { id: ds.id })).rejects.toThrow(/^small is in use by a running run \(uniform · metis-tiny · \d\d-\d\d \d\d:\d\d\): stop it first$/);

    // Paused (its thread ends), then stopped: a paused run is marked stopped without a thread.
    await engine.handle("runs.pause", { runId });
    await until(() => events.some((e) => e.type === "run.status" && e.runId === runId && e.status === "paused"));
    await until(() => engine.liveRunIds().length === 0);
    await engine.handle("runs.stop", { runId });
    await until(() => events.some((e) => e.type === "run.status" && e.runId === runId && e.status === "stopped"));
    await expect(engine.handle("runs.stop", { runId })).rejects.toThrow(/is stopped, not running or paused: there is nothing to stop/);

    const { run, metrics, prompts } = (await engine.handle("runs.metrics", { runId })) as { run: { config: { dataset: string; evalDataset: string } }; metrics: { step: number; cells: { id: string }[]; heldOutPassRate: number | null }[]; prompts: { id: string }[] };
    const all = readTaskRows(ds.path).map((r) => r.id);
    const trainIds = new Set(readTaskRows(run.config.dataset).map((r) => r.id));
    const heldIds = new Set(readTaskRows(run.config.evalDataset).map((r) => r.id));
    expect(heldIds.size).toBe(10); // 25 % of 40
    expect(trainIds.size).toBe(30);
    expect([...heldIds].some((id) => trainIds.has(id))).toBe(false);
    expect(new Set([...trainIds, ...heldIds])).toEqual(new Set(all));
    // Never trained on: no held-out row was ever rolled out, and the heatmap lists none.
    const rolledOut = metrics.flatMap((m) => m.cells.map((c) => c.id));
    expect(rolledOut.length).toBeGreaterThanOrEqual(8);
    expect(rolledOut.filter((id) => heldIds.has(id))).toEqual([]);
    expect(prompts.map((p) => p.id).filter((id) => heldIds.has(id))).toEqual([]);
    expect(metrics[0]!.heldOutPassRate).not.toBeNull();

    const row = (await listed(runId))!;
    expect(row).toMatchObject({ datasetName: "small", modelName: "metis-tiny (built-in)", firstScheduler: "uniform", eval: { kind: "holdout", percent: 25, rows: 10 }, status: "stopped" });
    expect(row.name).toMatch(/^uniform · metis-tiny · \d\d-\d\d \d\d:\d\d$/);
    expect(row.summary.steps).toBe(metrics.length);
    expect(row.summary.durationMs).toBeGreaterThan(0);
    expect(row.summary.recentStepMs).toHaveLength(metrics.length);
    expect(row.summary.heldOut?.step).toBe(metrics.at(-1)!.step);

    // Renamed, and the name is what the list and the run screen show.
    await expect(engine.handle("runs.rename", { runId, name: "   " })).rejects.toThrow(/cannot be empty/);
    expect(await engine.handle("runs.rename", { runId, name: "  held-out  try " })).toEqual({ ok: true, name: "held-out try" });
    expect((await listed(runId))!.name).toBe("held-out try");
    expect(((await engine.handle("runs.metrics", { runId })) as { run: { name: string } }).run.name).toBe("held-out try");

    // Deleted once stopped: its folder and its split go; the dataset it came from stays.
    const dir = join(tmp.path("user/runs"), readdirSync(tmp.path("user/runs")).find((d) => d === runId)!);
    expect(readdirSync(tmp.path("user/splits"))).toHaveLength(1);
    expect(await engine.handle("runs.delete", { runId })).toEqual({ ok: true });
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(tmp.path("user/splits"))).toEqual([]);
    expect(await listed(runId)).toBeUndefined();
    await expect(engine.handle("runs.metrics", { runId })).rejects.toThrow(`unknown run ${runId}`);
    expect(existsSync(ds.path)).toBe(true);
  }, 180_000);
});

describe("run start options", () => {
  it("refuses an evaluation set given twice, or the training set as its own evaluation set; a bad share is a validation error", async () => {
    const ds = await importSmallDataset("twice");
    await expect(engine.handle("runs.start", { config: { dataset: ds.id, evalDataset: ds.id }, eval: { kind: "none" } })).rejects.toThrow(/give the evaluation set once/);
    await expect(engine.handle("runs.start", { config: { dataset: ds.id }, eval: { kind: "dataset", id: ds.id } })).rejects.toThrow(/the evaluation set is the training set \(twice\)/);
    await expect(engine.handle("runs.start", { config: { dataset: ds.id }, eval: { kind: "holdout", percent: 90 } })).rejects.toThrow(/runs.start: invalid parameters: eval.percent/);
    expect(readdirSync(tmp.path("user/splits"))).toEqual([]);
  });

  it("lists each preset's values for the fields presets set", async () => {
    const { presets } = (await engine.handle("runs.presets", {})) as { presets: Record<string, Record<string, unknown>> };
    expect(presets.paper).toMatchObject({ metisWindow: 3, metisExploration: 0, metisJudgmentSamples: 1, judgmentWeight: 0.01, judgmentReward: "squared", judgmentBaseline: "moving-average", scaleAdvantages: false });
    expect(presets.workbench).toMatchObject({ metisWindow: 3, metisExploration: 0.25, judgmentWeight: 0.5, scaleAdvantages: true });
    expect(Object.keys(presets.workbench!).sort()).toEqual(Object.keys(presets.paper!).sort());
  });
});

describe("deleting models and datasets", () => {
  it("removes an uploaded model's copy but never a model file the user added in place; built-ins stay", async () => {
    writeTinyModel(tmp.path("mine.gguf"), { arch: "llama" });
    engine.grant(tmp.path("mine.gguf"));
    const inPlace = (await engine.handle("models.add", { path: tmp.path("mine.gguf") })) as { id: string };
    const bytes = readFileSync(tmp.path("mine.gguf"));
    const { uploadId } = (await engine.handle("uploads.begin", { name: "uploaded.gguf", size: bytes.length })) as { uploadId: string };
    await engine.handle("uploads.chunk", { uploadId, offset: 0, contentBase64: bytes.toString("base64") });
    await engine.handle("uploads.finish", { uploadId });
    const uploaded = (await engine.handle("models.add", { upload: uploadId })) as { id: string; path: string };
    expect(existsSync(uploaded.path)).toBe(true);

    const models = (await engine.handle("models.list", {})) as { id: string; size: number; path: string }[];
    expect(models.find((m) => m.id === inPlace.id)?.size).toBe(bytes.length);

    expect(await engine.handle("models.delete", { id: uploaded.id })).toEqual({ ok: true, removedFile: uploaded.path });
    expect(existsSync(uploaded.path)).toBe(false);
    expect(await engine.handle("models.delete", { id: inPlace.id })).toEqual({ ok: true, removedFile: null });
    expect(existsSync(tmp.path("mine.gguf"))).toBe(true);
    await expect(engine.handle("models.delete", { id: "builtin-metis-tiny" })).rejects.toThrow(/metis-tiny \(built-in\) is built in: it cannot be deleted/);
    await expect(engine.handle("models.delete", { id: inPlace.id })).rejects.toThrow(`unknown model ${inPlace.id}`);
    expect(((await engine.handle("models.list", {})) as { id: string }[]).map((m) => m.id)).toEqual(["builtin-metis-tiny"]);
  });

  it("removes a dataset's normalised copy, never the file it was imported from", async () => {
    const ds = await importSmallDataset("gone");
    const original = readFileSync(ds.source);
    expect(await engine.handle("datasets.delete", { id: ds.id })).toEqual({ ok: true, removedFile: ds.path });
    expect(existsSync(ds.path)).toBe(false);
    expect(readFileSync(ds.source)).toEqual(original);
    const builtin = ((await engine.handle("datasets.list", {})) as { id: string; builtin: boolean }[]).find((d) => d.builtin)!;
    await expect(engine.handle("datasets.delete", { id: builtin.id })).rejects.toThrow(/is built in/);
  });

  it("removes a browser upload's copy of the original with the dataset", async () => {
    const bytes = readFileSync(root("src-main/testing/fixtures/gsm8k/test.jsonl"));
    const { uploadId } = (await engine.handle("uploads.begin", { name: "gsm8k.jsonl", size: bytes.length })) as { uploadId: string };
    await engine.handle("uploads.chunk", { uploadId, offset: 0, contentBase64: bytes.toString("base64") });
    await engine.handle("uploads.finish", { uploadId });
    const { source } = (await engine.handle("datasets.preview", { upload: uploadId })) as { source: string };
    const ds = (await engine.handle("datasets.import", { source, name: "uploaded" })) as { id: string; path: string };
    expect(existsSync(source)).toBe(true);
    await engine.handle("datasets.delete", { id: ds.id });
    expect(existsSync(source)).toBe(false);
    expect(existsSync(ds.path)).toBe(false);
  });
});
