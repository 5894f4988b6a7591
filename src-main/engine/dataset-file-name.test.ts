// A dataset keeps the name of the file it came from: an upload's own name (the workbench's copy is
// "<upload id>-<name>"), or the file chosen in place.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTempDir } from "../testing/temp-dir.js";
import { Engine } from "./engine.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
});
afterAll(() => engine?.close());

const CSV = "expr,result\n1+1,2\n2+3,5\n";
const MAPPING = { mapping: { prompt: "What is {expr}?", reward: { kind: "math", answer: "result" } } };

async function upload(name: string, bytes: Buffer): Promise<string> {
  const { uploadId } = (await engine.handle("uploads.begin", { name, size: bytes.length })) as { uploadId: string };
  await engine.handle("uploads.chunk", { uploadId, offset: 0, contentBase64: bytes.toString("base64") });
  await engine.handle("uploads.finish", { uploadId });
  return uploadId;
}

describe("dataset file names", () => {
  it("an uploaded file is listed under its own name, spaces and all, not the upload's copy", async () => {
    const preview = (await engine.handle("datasets.preview", { upload: await upload("my sums (v2).csv", Buffer.from(CSV)), mapping: MAPPING })) as { source: string };
    expect(preview.source).toMatch(/[0-9a-f-]{36}-my_sums__v2_\.csv$/);
    const imported = (await engine.handle("datasets.import", { source: preview.source, name: "sums", mapping: MAPPING })) as { id: string; fileName: string };
    expect(imported.fileName).toBe("my sums (v2).csv");
    const listed = (await engine.handle("datasets.list", {})) as { id: string; fileName?: string }[];
    expect(listed.find((d) => d.id === imported.id)?.fileName).toBe("my sums (v2).csv");
  });

  it("a file chosen in place keeps its own name", async () => {
    writeFileSync(tmp.path("chosen.csv"), CSV);
    engine.grant(tmp.path("chosen.csv"));
    const preview = (await engine.handle("datasets.preview", { path: tmp.path("chosen.csv"), mapping: MAPPING })) as { source: string };
    const imported = (await engine.handle("datasets.import", { source: preview.source, name: "chosen", mapping: MAPPING })) as { fileName: string };
    expect(imported.fileName).toBe("chosen.csv");
  });
});
