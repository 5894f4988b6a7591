// Files are vetted before llama.cpp sees them: a LoRA claiming rank 2^31 once made generation
// grow without end, and NaN weights generated silently.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgufError } from "../gguf/errors.js";
import { writeModelGguf } from "../model/model-file.js";
import { makeTinyModel } from "../model/tiny-model.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeRandomLora } from "../testing/tiny-files.js";
import { RolloutEngine } from "./rollout-engine.js";

const tmp = useTempDir();
const model = makeTinyModel({ arch: "llama", layers: 1, dim: 64, heads: 4, kvHeads: 2, ffn: 64, seed: 8 });
const modelPath = tmp.path("model.gguf");
writeModelGguf(modelPath, model);
const goodLora = tmp.path("good.lora.gguf");
writeRandomLora(goodLora, model, { bStd: 0.2 });

/** The good adapter with the rank of one lora_a claimed as 2^31 in its header (its data unchanged). */
const hugeRankLora = tmp.path("rank31.lora.gguf");
{
  const bytes = readFileSync(goodLora);
  const name = "blk.0.attn_q.weight.lora_a";
  const at = bytes.indexOf(Buffer.from(name)) + name.length;
  bytes.writeBigUInt64LE(2n ** 31n, at + 4 + 8); // after rank (u32) and dims[0] (u64)
  writeFileSync(hugeRankLora, bytes);
}
const nanModel = tmp.path("nan.gguf");
{
  const m = makeTinyModel({ arch: "llama", layers: 1, dim: 64, heads: 4, kvHeads: 2, ffn: 64, seed: 8 });
  m.tensors.find((t) => t.name === "blk.0.attn_output.weight")!.values[100] = Number.NaN;
  writeModelGguf(nanModel, m, "F16");
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const r = await p.then(
    (engine) => { void (engine as RolloutEngine).dispose(); return null; },
    (e: unknown) => e as Error,
  );
  expect(r, "the file reached llama.cpp").not.toBeNull();
  return r!;
}

describe("RolloutEngine.load vets files before llama.cpp sees them", () => {
  it("refuses an adapter claiming rank 2^31, naming the adapter file", async () => {
    const e = await rejection(RolloutEngine.load({ modelPath, adapter: { path: hugeRankLora } }));
    expect(e).toBeInstanceOf(GgufError);
    expect(e.message).toContain(hugeRankLora);
    expect(e.message).toMatch(/blk\.0\.attn_q\.weight\.lora_a claims \d+\+ elements/);
  });

  it("refuses a model with a NaN weight, naming the file and tensor", async () => {
    const e = await rejection(RolloutEngine.load({ modelPath: nanModel }));
    expect(e.message).toContain(nanModel);
    expect(e.message).toMatch(/tensor blk\.0\.attn_output\.weight holds a non-finite value \(NaN\) at element 100/);
  });
});

describe("setAdapter vets the file and keeps the current adapter when it is bad", () => {
  let engine: RolloutEngine;
  beforeAll(async () => {
    engine = await RolloutEngine.load({ modelPath, adapter: { path: goodLora }, parallel: 1 });
  });
  afterAll(() => engine.dispose());

  it("rejects the bad adapter and generates as before", async () => {
    const before = await engine.generate(["ab"], 2, { maxTokens: 6, seed: 3 });
    const nanLora = tmp.path("nan.lora.gguf");
    writeRandomLora(nanLora, model, { bStd: 0.2 });
    const bytes = readFileSync(nanLora);
    bytes.writeFloatLE(Number.NaN, bytes.length - 4); // the last value of the last lora_b
    writeFileSync(nanLora, bytes);
    const e = await rejection(engine.setAdapter(nanLora).then(() => engine));
    expect(e.message).toContain(nanLora);
    expect(e.message).toMatch(/lora_b holds a non-finite value \(NaN\)/);
    expect(engine.adapterPath).toBe(goodLora);
    const after = await engine.generate(["ab"], 2, { maxTokens: 6, seed: 3 });
    expect(after.completions[0]!.map((c) => c.tokens)).toEqual(before.completions[0]!.map((c) => c.tokens));
  });
});
