import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Keys, SUPPORTED_ARCHS, archKey } from "../gguf/constants.js";
import { GgufError } from "../gguf/errors.js";
import { NonFiniteTensorError } from "../gguf/finite-scan.js";
import { kv } from "../gguf/metadata.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeRandomLora } from "../testing/tiny-files.js";
import { writeLoraGguf } from "./lora-file.js";
import { WEIGHT_TYPES, writeModelGguf, type ModelDescription, type WeightType } from "./model-file.js";
import { randomLora } from "./random-lora.js";
import { makeTinyModel } from "./tiny-model.js";
import { vetAdapterFile, vetModelFile } from "./vet-model-file.js";

const tmp = useTempDir();
const spec = { arch: "llama", layers: 2, dim: 64, heads: 4, kvHeads: 2, ffn: 128, seed: 3 } as const;
const basePath = tmp.path("base.gguf");
const baseModel = makeTinyModel(spec);
writeModelGguf(basePath, baseModel);

/** A copy of the tiny model changed by `edit`, written as `name`. */
function variant(name: string, edit: (m: ModelDescription) => void, type: WeightType = "F32"): string {
  const m = makeTinyModel(spec);
  edit(m);
  writeModelGguf(tmp.path(name), m, type);
  return tmp.path(name);
}

function tensor(m: ModelDescription, name: string): ModelDescription["tensors"][number] {
  const t = m.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no ${name}`);
  return t;
}

function expectVetError(run: () => unknown, file: string, pattern: RegExp): GgufError {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error, "the file was accepted").toBeInstanceOf(GgufError);
  expect((error as GgufError).file).toBe(file);
  expect((error as Error).message).toContain(file);
  expect((error as Error).message).toMatch(pattern);
  return error as GgufError;
}

/** Overwrite dimension `d` of tensor `name` in a GGUF file's header, leaving its data as it is. */
function patchDim(path: string, name: string, d: number, value: bigint): void {
  const bytes = readFileSync(path);
  const key = Buffer.concat([Buffer.alloc(8), Buffer.from(name)]);
  key.writeBigUInt64LE(BigInt(Buffer.byteLength(name)));
  const at = bytes.indexOf(key);
  if (at < 0) throw new Error(`no tensor info for ${name}`);
  bytes.writeBigUInt64LE(value, at + key.length + 4 + 8 * d);
  writeFileSync(path, bytes);
}

describe("vetModelFile", () => {
  it.each(SUPPORTED_ARCHS.flatMap((arch) => WEIGHT_TYPES.map((type) => [arch, type] as const)))("accepts a good %s model stored as %s", (arch, type) => {
    const path = tmp.path(`good-${arch}-${type}.gguf`);
    writeModelGguf(path, makeTinyModel({ arch, layers: 2, dim: 64, heads: 4, kvHeads: 2, ffn: 64, tiedEmbeddings: arch === "qwen3" }), type);
    expect(vetModelFile(path).tensors.length).toBeGreaterThan(0);
  });

  it("refuses absurd or inconsistent hyper-parameters, naming the key", () => {
    const dim = archKey(Keys.llm.embeddingLength, "llama");
    expectVetError(() => vetModelFile(variant("dim.gguf", (m) => m.metadata.set(dim, kv.u32(2 ** 31)))), tmp.path("dim.gguf"), /llama\.embedding_length is 2147483648; expected an integer in 1\.\.131072/);
    const ctx = archKey(Keys.llm.contextLength, "llama");
    expectVetError(() => vetModelFile(variant("ctx.gguf", (m) => m.metadata.set(ctx, kv.u32(0xffffffff)))), tmp.path("ctx.gguf"), /context_length is 4294967295/);
    const heads = archKey(Keys.attention.headCountKv, "llama");
    expectVetError(() => vetModelFile(variant("kv.gguf", (m) => m.metadata.set(heads, kv.u32(3)))), tmp.path("kv.gguf"), /head_count \(4\) must be a multiple of llama\.attention\.head_count_kv \(3\)/);
    const blocks = archKey(Keys.llm.blockCount, "llama");
    expectVetError(() => vetModelFile(variant("blocks.gguf", (m) => m.metadata.set(blocks, kv.u32(1)))), tmp.path("blocks.gguf"), /tensor blk\.1\.\S+ is in block 1 but llama\.block_count is 1/);
  });

  it("refuses tensors whose shapes disagree with the metadata", () => {
    const q = variant("q.gguf", (m) => Object.assign(tensor(m, "blk.1.attn_q.weight"), { dims: [64, 32], values: new Float32Array(64 * 32) }));
    expectVetError(() => vetModelFile(q), q, /tensor blk\.1\.attn_q\.weight has shape \[64, 32\]; the metadata implies \[64, 64\]/);
    const vocab = variant("vocab.gguf", (m) => {
      const t = tensor(m, "output.weight");
      Object.assign(t, { dims: [64, t.dims[1]! - 1], values: t.values.subarray(64) });
    });
    expectVetError(() => vetModelFile(vocab), vocab, /tensor output\.weight has shape \[64, \d+\]/);
    const ffn = variant("ffn.gguf", (m) => m.metadata.set(archKey(Keys.llm.feedForwardLength, "llama"), kv.u32(96)));
    expectVetError(() => vetModelFile(ffn), ffn, /ffn_(gate|up|down)\.weight has shape/);
  });

  it("refuses a dimension far beyond any model even when the data is there", () => {
    const wide = variant("wide.gguf", (m) => m.tensors.push({ name: "extra.weight", dims: [1, 2 ** 22 + 1], values: new Float32Array(2 ** 22 + 1) }));
    expectVetError(() => vetModelFile(wide), wide, /tensor extra\.weight has dimension 1 of 4194305; the limit is 4194304/);
  });

  it("refuses a LoRA adapter given as the model", () => {
    writeRandomLora(tmp.path("lora-as-model.gguf"), baseModel, { bStd: 0.1 });
    expectVetError(() => vetModelFile(tmp.path("lora-as-model.gguf")), tmp.path("lora-as-model.gguf"), /is a LoRA adapter, not a model/);
  });

  it("names the tensor and element of a NaN in an F32 model", () => {
    const path = variant("nan-f32.gguf", (m) => (tensor(m, "blk.1.ffn_up.weight").values[777] = Number.NaN));
    const e = expectVetError(() => vetModelFile(path), path, /tensor blk\.1\.ffn_up\.weight holds a non-finite value \(NaN\) at element 777/);
    expect(e).toBeInstanceOf(NonFiniteTensorError);
  });

  it("finds an infinity in F16 weights (a value beyond the half range) and in an F32 norm", () => {
    const big = variant("inf-f16.gguf", (m) => (tensor(m, "blk.0.attn_v.weight").values[5] = -1e6), "F16");
    expectVetError(() => vetModelFile(big), big, /blk\.0\.attn_v\.weight holds a non-finite value \(-Infinity\) at element 5/);
    const norm = variant("inf-norm.gguf", (m) => (tensor(m, "output_norm.weight").values[63] = Number.POSITIVE_INFINITY), "Q8_0");
    expectVetError(() => vetModelFile(norm), norm, /output_norm\.weight holds a non-finite value \(Infinity\) at element 63/);
  });

  it("finds a NaN in a Q8_0 model through the block scale", () => {
    const path = variant("nan-q8.gguf", (m) => (tensor(m, "blk.0.ffn_down.weight").values[32 * 9 + 4] = Number.NaN), "Q8_0");
    expectVetError(() => vetModelFile(path), path, /blk\.0\.ffn_down\.weight holds a non-finite value \(scale NaN\) at block 9/);
  });

  it("can skip the value scan", () => {
    const path = variant("nan-skip.gguf", (m) => (tensor(m, "blk.0.attn_k.weight").values[0] = Number.NaN));
    expect(() => vetModelFile(path, { scanValues: false })).not.toThrow();
  });
});

describe("vetAdapterFile", () => {
  const base = vetModelFile(basePath);
  const lora = (name: string, edit: (a: ReturnType<typeof randomLora>) => void = () => undefined): string => {
    const adapter = randomLora(baseModel, { arch: "llama", rank: 4, alpha: 8, targets: ["attn_q", "attn_v", "ffn_down"], bStd: 0.1, seed: 2 });
    edit(adapter);
    writeLoraGguf(tmp.path(name), adapter);
    return tmp.path(name);
  };

  it("accepts a good adapter", () => {
    expect(vetAdapterFile(lora("good.lora.gguf"), base).tensors).toHaveLength(12);
  });

  it("refuses a rank of 2^31 claimed in the header before anything is allocated", () => {
    const path = lora("rank31.lora.gguf");
    patchDim(path, "blk.0.attn_q.weight.lora_a", 1, 2n ** 31n);
    expectVetError(() => vetAdapterFile(path, base), path, /blk\.0\.attn_q\.weight\.lora_a claims \d+\+ elements, more than the file could hold/);
  });

  it("refuses a rank above the limit even when its bytes are in the file", () => {
    const rank = 8193;
    const path = tmp.path("rank-big.lora.gguf");
    writeLoraGguf(path, { arch: "llama", rank, alpha: 8, tensors: [{ target: "blk.0.attn_q", nIn: 64, nOut: 64, a: new Float32Array(rank * 64), b: new Float32Array(rank * 64) }] });
    expectVetError(() => vetAdapterFile(path, base), path, /blk\.0\.attn_q\.weight: LoRA rank 8193 is outside 1\.\.8192/);
  });

  it("refuses shapes that do not fit the base model, unknown targets and half pairs", () => {
    const wider = makeTinyModel({ ...spec, dim: 128, heads: 4 });
    const other = tmp.path("other-base.lora.gguf");
    writeRandomLora(other, wider, { bStd: 0.1 });
    expectVetError(() => vetAdapterFile(other, base), other, /blk\.0\.attn_q\.weight: expected lora_a \[64, 4\] and lora_b \[4, 64\] for the base tensor \[64, 64\], found \[128, 4\] and \[4, 128\]/);
    const missing = lora("missing.lora.gguf", (a) => (a.tensors[0]!.target = "blk.7.attn_q"));
    expectVetError(() => vetAdapterFile(missing, base), missing, /adapts blk\.7\.attn_q\.weight, which the base model .* does not have/);
    const half = tmp.path("half.lora.gguf");
    patchName(lora("half-src.lora.gguf"), half, "blk.0.attn_v.weight.lora_b", "blk.0.attn_v.weight.lora_c");
    expectVetError(() => vetAdapterFile(half, base), half, /blk\.0\.attn_v\.weight\.lora_c is neither a \.lora_a nor a \.lora_b tensor/);
  });

  it("refuses an adapter for another architecture, a model given as adapter, and a NaN alpha", () => {
    const qwen = tmp.path("qwen.lora.gguf");
    writeRandomLora(qwen, baseModel, { arch: "qwen2", bStd: 0.1 });
    expectVetError(() => vetAdapterFile(qwen, base), qwen, /is an adapter for qwen2 models; the base model .* is llama/);
    expectVetError(() => vetAdapterFile(basePath, base), basePath, /general\.type is missing; expected "adapter"/);
    const alpha = lora("alpha.lora.gguf", (a) => (a.alpha = Number.NaN));
    expectVetError(() => vetAdapterFile(alpha, base), alpha, /adapter\.lora\.alpha is NaN; expected a finite number/);
  });

  it("names the tensor of a NaN in lora_b", () => {
    const path = lora("nan.lora.gguf", (a) => (a.tensors[1]!.b[17] = Number.NaN));
    expectVetError(() => vetAdapterFile(path, base), path, /tensor blk\.0\.attn_v\.weight\.lora_b holds a non-finite value \(NaN\) at element 17/);
  });
});

/** Copy `from` to `to` with one tensor renamed (same length, so every offset stays valid). */
function patchName(from: string, to: string, name: string, renamed: string): void {
  const bytes = readFileSync(from);
  const at = bytes.indexOf(Buffer.from(name));
  if (at < 0 || renamed.length !== name.length) throw new Error(`cannot rename ${name}`);
  bytes.write(renamed, at);
  writeFileSync(to, bytes);
}
