// Issue 10 (medium): the engine under `metis serve` must release ended runs, leave nothing behind
// from a failed start or a rejected upload, refuse unknown keys, keep answering while a run
// trains, and read only files the user chose. Each test below failed against the engine before.
import { copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "../protocol/protocol.js";
import { useTempDir } from "../testing/temp-dir.js";
import { Engine } from "./engine.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();
let engine: Engine;
const events: EngineEvent[] = [];
const SHORT_RUN = { scheduler: "uniform", steps: 2, batchSize: 1, groupSize: 2, maxTokens: 8, evalEvery: 1000 };

beforeAll(async () => {
  engine = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
  engine.onEvent((e) => events.push(e));
});
afterAll(() => engine?.close());

/** Resolve when an event matching `pred` has arrived (polling: events come from the run thread). */
function eventually(pred: (e: EngineEvent) => boolean, ms = 60_000): Promise<EngineEvent> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const check = setInterval(() => {
      const e = events.find(pred);
      if (e) {
        clearInterval(check);
        resolve(e);
      } else if (Date.now() - t0 > ms) {
        clearInterval(check);
        reject(new Error("timed out waiting for an event"));
      }
    }, 20);
  });
}

/** The engine's private set of live runs: what the server leaked before. */
const liveCount = (): number => (engine as unknown as { live: Map<string, unknown> }).live.size;

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Upload `bytes` through the chunked commands; returns the upload id. */
async function upload(name: string, bytes: Buffer): Promise<string> {
  const { uploadId, chunkBytes } = (await engine.handle("uploads.begin", { name, size: bytes.length })) as { uploadId: string; chunkBytes: number };
  for (let off = 0; off < bytes.length; off += chunkBytes) await engine.handle("uploads.chunk", { uploadId, offset: off, contentBase64: bytes.subarray(off, off + chunkBytes).toString("base64") });
  await engine.handle("uploads.finish", { uploadId });
  return uploadId;
}

describe("runs under the engine", () => {
  it("a finished run is disposed: its thread ends and it leaves the live set", async () => {
    const { runId } = (await engine.handle("runs.start", { config: SHORT_RUN })) as { runId: string };
    await eventually((e) => e.type === "run.status" && e.runId === runId && e.status === "finished");
    await until(() => liveCount() === 0);
    const runs = (await engine.handle("runs.list", {})) as { id: string; live: boolean; status: string }[];
    expect(runs.find((r) => r.id === runId)).toMatchObject({ live: false, status: "finished" });
    await expect(engine.handle("runs.pause", { runId })).rejects.toThrow(/not active/);
    // A change to a finished run would never apply: refused, saying why and how to train on.
    await expect(engine.handle("runs.patch", { runId, patch: { learningRate: 1e-3 } })).rejects.toThrow(/is finished \(step \d+ of \d+\): a change would never apply; to train on, raise "steps"/);
    await expect(engine.handle("runs.patch", { runId, patch: { steps: 1 } })).rejects.toThrow(/is finished/);
    await expect(engine.handle("runs.patch", { runId, patch: { steps: 1000 } })).resolves.toEqual({ ok: true }); // an extension, applied by resume
  }, 90_000);

  it("a stopped run is disposed too, and resumes in a new thread with a change made while it was stopped", async () => {
    // Far more steps than the test lasts: it pauses the resumed run, which must not have finished first.
    const { runId } = (await engine.handle("runs.start", { config: { ...SHORT_RUN, steps: 400 } })) as { runId: string };
    await eventually((e) => e.type === "run.step" && e.runId === runId);
    await engine.handle("runs.stop", { runId });
    await eventually((e) => e.type === "run.status" && e.runId === runId && e.status === "stopped");
    await until(() => liveCount() === 0);
    await engine.handle("runs.patch", { runId, patch: { scheduler: "greso" } }); // the renderer's "Apply at next step" on a paused run
    await engine.handle("runs.resume", { runId });
    expect(liveCount()).toBe(1);
    await eventually((e) => e.type === "run.patch" && e.runId === runId && e.patch.scheduler === "greso");
    await eventually((e) => e.type === "run.status" && e.runId === runId && e.status === "running" && events.filter((x) => x.type === "run.status" && x.runId === runId && x.status === "running").length === 2);
    await engine.handle("runs.pause", { runId });
    await until(() => liveCount() === 0, 60_000);
  }, 120_000);

  it("a failed start leaves no run directory behind", async () => {
    const rows = tmp.path("user/train-copy.jsonl");
    copyFileSync(root("resources/datasets/synthetic-train.jsonl"), rows);
    const imported = (await engine.handle("datasets.import", { source: rows, name: "copy", mapping: { preset: "metis" } })) as { id: string; path: string };
    rmSync(imported.path); // the registered dataset's file is gone: building the run fails after its directory was made
    const before = readdirSync(tmp.path("user/runs")).sort();
    await expect(engine.handle("runs.start", { config: { ...SHORT_RUN, dataset: imported.id } })).rejects.toThrow(/ENOENT|no such file|no rows/i);
    expect(readdirSync(tmp.path("user/runs")).sort()).toEqual(before);
    expect(liveCount()).toBe(0);
  }, 60_000);

  it("unknown keys are refused, in a run config and in any command's parameters", async () => {
    const before = readdirSync(tmp.path("user/runs")).length;
    await expect(engine.handle("runs.start", { config: { ...SHORT_RUN, stpes: 5 } })).rejects.toThrow(/Unrecognized key.*stpes/);
    await expect(engine.handle("runs.start", { config: SHORT_RUN, extra: 1 })).rejects.toThrow(/runs.start: invalid parameters.*extra/);
    await expect(engine.handle("app.info", { verbose: true })).rejects.toThrow(/app.info: invalid parameters.*verbose/);
    await expect(engine.handle("runs.pause", { runId: "x", force: true })).rejects.toThrow(/force/);
    await expect(engine.handle("datasets.preview", { path: rowsUnderUserData(), mapping: { preset: "gsm8k", strict: false } })).rejects.toThrow(/invalid parameters/);
    expect(readdirSync(tmp.path("user/runs")).length).toBe(before);
  });

  it("answers commands while a run trains (the run has its own thread)", async () => {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const latencies: number[] = [];
    // Measured from the start command on: building a run (weights, training graph, sessions) is work too.
    let runId = "";
    const starting = engine.handle("runs.start", { config: { ...SHORT_RUN, steps: 6, batchSize: 2, groupSize: 4, maxTokens: 24 } }).then((r) => (runId = (r as { runId: string }).runId));
    while (!runId || !events.some((e) => e.type === "run.status" && e.runId === runId && e.status !== "running")) {
      const t0 = performance.now();
      await engine.handle("app.info", {});
      await engine.handle("runs.list", {});
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
    delay.disable();
    await starting;
    latencies.sort((a, b) => a - b);
    // Before, building and training held the loop for up to 1.2 s here (2-core VM); after, 38 ms at most.
    // Generous bounds: other work shares these cores.
    expect(delay.max / 1e6).toBeLessThan(500);
    expect(latencies.at(-1)!).toBeLessThan(500);
    expect(latencies[Math.floor(latencies.length * 0.99)]!).toBeLessThan(250);
    await until(() => liveCount() === 0);
  }, 90_000);
});

function rowsUnderUserData(): string {
  const p = tmp.path("user/rows.jsonl");
  writeFileSync(p, '{"question": "1+1?", "answer": "2"}\n');
  return p;
}

describe("uploads", () => {
  it("a rejected model upload is deleted, and its error quotes no bytes", async () => {
    const id = await upload("fake.gguf", Buffer.from("root:x:0:0:secret-bytes\n".repeat(1000)));
    const error = await engine.handle("models.add", { upload: id }).catch((e: Error) => e.message);
    expect(error).toMatch(/not a GGUF file/);
    expect(error).not.toMatch(/root|secret/);
    expect(readdirSync(tmp.path("user/uploads"))).toEqual([]);
    expect(readdirSync(tmp.path("user/models"))).toEqual([]);
  });

  it("a model upload that is a GGUF is kept under models/", async () => {
    const bytes = await import("node:fs").then((fs) => fs.readFileSync(root("resources/models/metis-tiny.gguf")));
    const id = await upload("tiny.gguf", bytes);
    const added = (await engine.handle("models.add", { upload: id })) as { name: string; path: string; info: { architecture: string } };
    expect(added).toMatchObject({ name: "tiny.gguf", info: { architecture: "llama" } });
    expect(added.path.startsWith(tmp.path("user/models"))).toBe(true);
    expect(readdirSync(tmp.path("user/uploads"))).toEqual([]);
  });

  it("refuses oversize before any byte, a chunk past the size, and chunks out of order, deleting the partial file", async () => {
    await expect(engine.handle("uploads.begin", { name: "huge.gguf", size: 2 ** 40 })).rejects.toThrow(/invalid parameters|over the upload limit|do not fit/);
    const { uploadId } = (await engine.handle("uploads.begin", { name: "small.jsonl", size: 4 })) as { uploadId: string };
    await expect(engine.handle("uploads.chunk", { uploadId, offset: 3, contentBase64: "AAAA" })).rejects.toThrow(/expected the chunk at offset 0/);
    await expect(engine.handle("uploads.finish", { uploadId })).rejects.toThrow(/0 of 4 bytes/);
    await expect(engine.handle("uploads.chunk", { uploadId, offset: 0, contentBase64: Buffer.alloc(9).toString("base64") })).rejects.toThrow(/more bytes than the 4 announced/);
    expect(readdirSync(tmp.path("user/uploads"))).toEqual([]);
    await expect(engine.handle("uploads.chunk", { uploadId, offset: 0, contentBase64: "AAAA" })).rejects.toThrow(/unknown upload/);
  });

  it("a dataset upload previews, previews again by its source, and imports; a broken one is deleted", async () => {
    const id = await upload("tasks.jsonl", Buffer.from('{"question": "What is 2+3?", "answer": "5"}\n{"question": "What is 1+1?", "answer": "2"}\n'));
    const mapping = { mapping: { prompt: "{question}", reward: { kind: "math", answer: "answer" } } };
    const preview = (await engine.handle("datasets.preview", { upload: id, mapping })) as { source: string; records: number };
    expect(preview.records).toBe(2);
    const again = (await engine.handle("datasets.preview", { path: preview.source, mapping })) as { records: number };
    expect(again.records).toBe(2);
    const imported = (await engine.handle("datasets.import", { source: preview.source, name: "tasks", mapping })) as { rows: number };
    expect(imported.rows).toBe(2);

    // Bad lines are skipped and listed; a file with no readable line at all is refused.
    const bad = await upload("bad.jsonl", Buffer.from("root:x:0:0:secret\n"));
    const error = await engine.handle("datasets.preview", { upload: bad }).catch((e: Error) => e.message);
    expect(error).toMatch(/^bad\.jsonl:1: no readable records \(1 bad lines; first: not valid JSON/);
    expect(error).not.toMatch(/root|secret/);
    // By its name's end: an upload's random id may itself contain "bad" (one run's "…64fbad5a…-tasks.jsonl").
    expect(readdirSync(tmp.path("user/uploads")).filter((f) => f.endsWith("bad.jsonl"))).toEqual([]);
  });
});

describe("host files through the protocol", () => {
  const outside = tmp.path("outside");
  beforeAll(() => {
    mkdirSync(outside);
    writeFileSync(join(outside, "secret.json"), JSON.stringify([{ question: "top-secret-value", answer: "1" }]));
    writeFileSync(join(outside, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  });

  it("datasets.preview of a file the user did not choose reads nothing", async () => {
    const error = await engine.handle("datasets.preview", { path: join(outside, "secret.json"), mapping: { mapping: { prompt: "{question}", reward: { kind: "math", answer: "answer" } } } }).catch((e: Error) => e.message);
    expect(error).toMatch(/secret\.json: not a file you chose/);
    expect(error).not.toMatch(/top-secret/);
    await expect(engine.handle("datasets.import", { source: join(outside, "secret.json"), name: "x" })).rejects.toThrow(/not a file you chose/);
  });

  it("a link under user-data to an outside file is the outside file", async () => {
    symlinkSync(join(outside, "secret.json"), tmp.path("user/link.json"));
    await expect(engine.handle("datasets.preview", { path: tmp.path("user/link.json") })).rejects.toThrow(/not a file you chose/);
  });

  it("models.add of /etc/passwd names the file and echoes none of it", async () => {
    for (const path of ["/etc/passwd", join(outside, "passwd")]) {
      const error = await engine.handle("models.add", { path }).catch((e: Error) => e.message);
      expect(error).toMatch(/not a file you chose/);
      expect(error).not.toMatch(/root/);
    }
    // Chosen by the user (the host granted it), it is read, and still no byte is echoed.
    engine.grant(join(outside, "passwd"));
    const error = await engine.handle("models.add", { path: join(outside, "passwd") }).catch((e: Error) => e.message);
    expect(error).toMatch(/passwd: not a GGUF file/);
    expect(error).not.toMatch(/root/);
  });

  it("a run config cannot name an outside file either", async () => {
    await expect(engine.handle("runs.start", { config: { ...SHORT_RUN, dataset: join(outside, "secret.json") } })).rejects.toThrow(/not a file you chose/);
    await expect(engine.handle("runs.start", { config: { ...SHORT_RUN, evalDataset: "/etc/passwd" } })).rejects.toThrow(/not a file you chose/);
  });

  it("a granted file previews", async () => {
    engine.grant(join(outside, "secret.json"));
    const preview = (await engine.handle("datasets.preview", { path: join(outside, "secret.json"), mapping: { mapping: { prompt: "{question}", reward: { kind: "math", answer: "answer" } } } })) as { records: number };
    expect(preview.records).toBe(1);
  });
});
