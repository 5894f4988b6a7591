// Issue 13: what a user met through the engine — an adapter added as a model, a dataset whose
// prompts cannot fit the context, an unrecognised file with no way to map it, BFCL uploaded with
// its answer file. Each test failed against the engine before.
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readModelInfo } from "../model/model-info.js";
import { readGguf } from "../gguf/reader.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeRandomLora, writeTinyModel } from "../testing/tiny-files.js";
import { Engine } from "./engine.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const fixture = (p: string): string => root(`src-main/testing/fixtures/${p}`);
const tmp = useTempDir();
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
});
afterAll(() => engine?.close());

async function upload(name: string, bytes: Buffer): Promise<string> {
  const { uploadId } = (await engine.handle("uploads.begin", { name, size: bytes.length })) as { uploadId: string };
  await engine.handle("uploads.chunk", { uploadId, offset: 0, contentBase64: bytes.toString("base64") });
  await engine.handle("uploads.finish", { uploadId });
  return uploadId;
}

describe("models", () => {
  it("a LoRA adapter is refused as a model, by path or upload, with a message saying what it is", async () => {
    const model = writeTinyModel(tmp.path("base.gguf"), { arch: "llama" });
    writeRandomLora(tmp.path("adapter.gguf"), model, { bStd: 0.1 });
    expect(readModelInfo(tmp.path("adapter.gguf")).kind).toBe("adapter");
    expect(readGguf(tmp.path("adapter.gguf")).metadata.has("adapter.type")).toBe(true);
    engine.grant(tmp.path("adapter.gguf"));
    await expect(engine.handle("models.add", { path: tmp.path("adapter.gguf") })).rejects.toThrow(/adapter\.gguf is a LoRA adapter \(general\.type is adapter\), not a model: it cannot be trained or run on its own\. Add the base model/);
    const id = await upload("my-lora.gguf", readFileSync(tmp.path("adapter.gguf")));
    await expect(engine.handle("models.add", { upload: id })).rejects.toThrow(/^my-lora\.gguf is a LoRA adapter/);
    const models = (await engine.handle("models.list", {})) as { name: string }[];
    expect(models.map((m) => m.name)).toEqual(["metis-tiny (built-in)"]);
    expect(readdirSync(tmp.path("user/models"))).toEqual([]);
  });
});

describe("run start", () => {
  it("HumanEval with Max tokens 300 on the built-in model (1 024-token context) is refused at start, naming how many prompts and what to change; no run is left", async () => {
    engine.grant(fixture("humaneval/HumanEval.jsonl.gz"));
    const preview = (await engine.handle("datasets.preview", { path: fixture("humaneval/HumanEval.jsonl.gz") })) as { source: string; records: number };
    expect(preview.records).toBe(21);
    const { id } = (await engine.handle("datasets.import", { source: preview.source, name: "humaneval" })) as { id: string };
    const error = await engine.handle("runs.start", { config: { dataset: id, scheduler: "uniform", steps: 2, batchSize: 1, groupSize: 2, maxTokens: 300 } }).then(() => null, (e: Error) => e.message);
    expect(error).toMatch(/\.jsonl: (\d+) of 21 prompts cannot fit the model's context: prompt tokens \+ Max tokens \(300\) > 1024 tokens \(the longest prompt is (\d+) tokens\)\. To train on it, /);
    const longest = Number(/the longest prompt is (\d+)/.exec(error!)![1]);
    // The fixture's longest HumanEval prompt is 812 bytes; the built-in model's vocabulary is bytes.
    expect(longest).toBeGreaterThan(1024 - 300);
    expect(error).toMatch(/lower Max tokens to \d+ or less/);
    expect(readdirSync(tmp.path("user/runs"))).toEqual([]);
    expect(await engine.handle("runs.list", {})).toEqual([]);
  }, 60_000);
});

describe("dataset previews", () => {
  it("unrecognised fields open a preview with the fields to map, not an error", async () => {
    const id = await upload("sums.csv", Buffer.from("q,a\n1+1,2\n2+2,4\n"));
    const p = (await engine.handle("datasets.preview", { upload: id })) as { preset: string; fields: string[]; records: number; rows: unknown[]; source: string };
    expect(p).toMatchObject({ preset: "none", fields: ["q", "a"], records: 2, rows: [] });
    const mapped = (await engine.handle("datasets.preview", { path: p.source, mapping: { mapping: { prompt: "{q}=", reward: { kind: "math", answer: "a" } } } })) as { preset: string; rows: unknown[] };
    expect(mapped).toMatchObject({ preset: "custom" });
    expect(mapped.rows).toHaveLength(2);
  });

  it("BFCL uploaded with its answer file previews and imports (the upload's copy has no sibling)", async () => {
    const q = await upload("BFCL_v4_multiple.json", readFileSync(fixture("bfcl/BFCL_v4_multiple.json")));
    const a = await upload("BFCL_v4_multiple.answer.json", readFileSync(fixture("bfcl/BFCL_v4_multiple.answer.json")));
    const p = (await engine.handle("datasets.preview", { upload: q, answers: { upload: a } })) as { preset: string; records: number; rows: unknown[]; errors: unknown[]; source: string; answers: string };
    expect(p).toMatchObject({ preset: "bfcl", records: 60, errors: [] });
    expect(p.rows).toHaveLength(20);
    const imported = (await engine.handle("datasets.import", { source: p.source, answers: p.answers, name: "bfcl multiple" })) as { rows: number };
    expect(imported.rows).toBe(60);
    const alone = await upload("BFCL_v4_parallel.json", readFileSync(fixture("bfcl/BFCL_v4_parallel.json")));
    await expect(engine.handle("datasets.preview", { upload: alone })).rejects.toThrow(/^BFCL ground truth not found: .*\(give the answer file with the questions\)/);
  });
});
