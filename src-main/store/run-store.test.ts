import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RftConfig } from "../rft/rft-config.js";
import { useTempDir } from "../testing/temp-dir.js";
import { RunFileError, RunStore, type RunRecord } from "./run-store.js";

const tmp = useTempDir();
let runs = 0;
const record = (): RunRecord => ({ id: "r", createdAt: "2026-01-01T00:00:00.000Z", config: { steps: 3 } as unknown as RftConfig, status: "paused", step: 2, history: [], lastCheckpoint: null, error: null });

/** A run directory created through the store, with `files` then overwritten. */
async function runDir(files: Record<string, string> = {}): Promise<string> {
  const dir = tmp.path(`run-${runs++}`);
  await RunStore.create(dir, record());
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function openError(dir: string): Promise<RunFileError> {
  const e = await RunStore.open(dir).then(() => null, (x: unknown) => x);
  expect(e, "the run opened").toBeInstanceOf(RunFileError);
  return e as RunFileError;
}

describe("RunStore.open names the file and what is wrong with it", () => {
  it("run.json cut short, empty, or not a run record", async () => {
    const cut = await runDir({ "run.json": JSON.stringify(record()).slice(0, 40) });
    expect((await openError(cut)).message).toMatch(new RegExp(`^${join(cut, "run.json")}: is not valid JSON \\(.+\\)$`));
    const empty = await runDir({ "run.json": "" });
    expect((await openError(empty)).message).toBe(`${join(empty, "run.json")}: is empty (expected a JSON object; the file was cut short)`);
    const list = await runDir({ "run.json": "[1, 2]" });
    expect((await openError(list)).message).toBe(`${join(list, "run.json")}: expected a run record (a JSON object), found an array`);
    const noConfig = await runDir({ "run.json": JSON.stringify({ ...record(), config: undefined }) });
    expect((await openError(noConfig)).message).toBe(`${join(noConfig, "run.json")}: field "config" should be an object (the run's settings), found nothing`);
    const step = await runDir({ "run.json": JSON.stringify({ ...record(), step: -1 }) });
    expect((await openError(step)).message).toBe(`${join(step, "run.json")}: field "step" should be a whole number ≥ 0, found number -1`);
  });

  it("curriculum.json cut short or of the wrong shape", async () => {
    const cut = await runDir({ "curriculum.json": '{"prompts": {"a": {"outcomes": [' });
    expect((await openError(cut)).message).toMatch(new RegExp(`^${join(cut, "curriculum.json")}: is not valid JSON`));
    const shape = await runDir({ "curriculum.json": '{"prompts": [], "recent": []}' });
    expect((await openError(shape)).message).toBe(`${join(shape, "curriculum.json")}: field "prompts" should be an object of per-prompt records, found an array`);
    const state = await runDir({ "curriculum.json": '{"format": 2, "step": 0, "historyBytes": 0, "state": {"prompts": {}, "recent": {}}}' });
    expect((await openError(state)).message).toBe(`${join(state, "curriculum.json")}: field "state.recent" should be an array, found an object`);
    const bytes = await runDir({ "curriculum.json": '{"format": 2, "step": 0, "state": {"prompts": {}, "recent": []}}' });
    expect((await openError(bytes)).message).toBe(`${join(bytes, "curriculum.json")}: field "historyBytes" should be a whole number ≥ 0, found nothing`);
  });

  it("opens a good run", async () => {
    const store = await RunStore.open(await runDir());
    expect(store.run.data.step).toBe(2);
    expect(store.curriculum.state).toEqual({ prompts: {}, recent: [] });
  });
});

describe("checkpoint directories", () => {
  const complete = (dir: string, name: string, mtime?: number): string => {
    const path = join(dir, "checkpoints", name);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, "checkpoint.json"), "{}");
    if (mtime !== undefined) utimesSync(path, mtime, mtime);
    return path;
  };

  it("stale *.tmp-PID directories are removed when the store opens; a live save is kept", async () => {
    const dir = await runDir();
    const now = Date.now() / 1000;
    complete(dir, "step-0000002", now - 60);
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
    mkdirSync(join(dir, "checkpoints", `step-0000003.tmp-${deadPid}`));
    // Our own (live) PID, but older than the newest complete checkpoint: a crash long ago whose PID was reused.
    const old = join(dir, "checkpoints", `step-0000001.tmp-${process.pid}`);
    mkdirSync(old);
    utimesSync(old, now - 120, now - 120);
    // A save in progress: live PID, newer than every complete checkpoint.
    mkdirSync(join(dir, "checkpoints", `step-0000004.tmp-${process.pid}`));
    await RunStore.open(dir);
    expect(readdirSync(join(dir, "checkpoints")).sort()).toEqual(["step-0000002", `step-0000004.tmp-${process.pid}`]);
  });

  it("candidates come newest first, a step's moved-aside copy after it; latestCheckpoint is the newest", async () => {
    const dir = await runDir();
    for (const name of ["step-0000002", "step-0000010", "step-0000009.old", "step-0000009", "step-0000011.tmp-1"]) complete(dir, name);
    mkdirSync(join(dir, "checkpoints", "step-0000012")); // incomplete: no checkpoint.json
    const store = await RunStore.open(dir);
    const names = store.checkpointCandidates().map((p) => p.slice(join(dir, "checkpoints").length + 1));
    expect(names).toEqual(["step-0000010", "step-0000009", "step-0000009.old", "step-0000002"]);
    expect(store.latestCheckpoint()).toBe(join(dir, "checkpoints", "step-0000010"));
  });
});
