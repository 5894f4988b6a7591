// Vets a GGUF model or LoRA adapter before llama.cpp sees it. llama.cpp trusts a file's shapes:
// it allocates (and zeroes) buffers from them before checking that the data exists, so a LoRA
// claiming rank 2^31 made `metis generate` grow by 35 MB/s without end, and NaN weights
// generated garbage without a word. Here the project's own reader checks the header against the
// file size (reader.ts), then hyper-parameters and tensor shapes against each other, adapter
// shapes against the base model, and every weight for NaN and infinities (finite-scan.ts).
import { Keys, SUPPORTED_ARCHS, TensorNames, archKey, tensorName } from "../gguf/constants.js";
import { GgufError } from "../gguf/errors.js";
import { assertFiniteTensors } from "../gguf/finite-scan.js";
import { metaArray, metaNumber, metaString } from "../gguf/metadata.js";
import { readGguf, type GgufFile } from "../gguf/reader.js";
import type { GgufTensorInfo } from "../gguf/types.js";

/**
 * Upper bounds on what a file may claim: orders of magnitude above any published model
 * (largest seen: 25 600 wide, 126 blocks, 262 144 tokens, a 10 M context), far below what
 * makes llama.cpp allocate without end.
 */
export const VET_LIMITS = {
  tensorDim: 1 << 22,
  embeddingLength: 1 << 17,
  blockCount: 1 << 12,
  headCount: 1 << 12,
  headLength: 1 << 14,
  feedForwardLength: 1 << 20,
  contextLength: 1 << 24,
  vocabSize: 1 << 22,
  loraRank: 1 << 13,
} as const;

/** Hyper-parameter keys and their bounds; arrays (per-layer values) are checked item by item. */
const HPARAMS: readonly { key: string; max: number; min: number }[] = [
  { key: Keys.llm.embeddingLength, max: VET_LIMITS.embeddingLength, min: 1 },
  { key: Keys.llm.blockCount, max: VET_LIMITS.blockCount, min: 1 },
  { key: Keys.llm.contextLength, max: VET_LIMITS.contextLength, min: 1 },
  { key: Keys.llm.feedForwardLength, max: VET_LIMITS.feedForwardLength, min: 0 },
  { key: Keys.llm.vocabSize, max: VET_LIMITS.vocabSize, min: 1 },
  { key: Keys.attention.headCount, max: VET_LIMITS.headCount, min: 0 },
  { key: Keys.attention.headCountKv, max: VET_LIMITS.headCount, min: 0 },
  { key: Keys.attention.keyLength, max: VET_LIMITS.headLength, min: 1 },
  { key: Keys.attention.valueLength, max: VET_LIMITS.headLength, min: 1 },
];

/** Options of `vetModelFile`. */
export interface VetOptions {
  /** Scan every weight for NaN and infinities (reads the whole file once). Default true. */
  scanValues?: boolean;
}

/** Check a GGUF model before llama.cpp loads it; returns its parsed header. Throws GgufError naming the file and what is wrong. */
export function vetModelFile(path: string, options: VetOptions = {}): GgufFile {
  const file = readGguf(path);
  const kind = metaString(file, Keys.general.type, "model");
  if (kind === "adapter") fail(file, `is a LoRA adapter, not a model (load it as an adapter over its base model)`);
  if (kind !== "model") fail(file, `general.type is "${kind}"; expected "model"`);
  const arch = metaString(file, Keys.general.architecture);
  if (file.tensors.length === 0) fail(file, "holds no tensors");
  checkTensorTable(file);
  const hp = readHparams(file, arch);
  if (hp.blocks !== null) {
    for (const t of file.tensors) {
      const m = /^blk\.(\d+)\./.exec(t.name);
      if (m && Number(m[1]) >= hp.blocks) fail(file, `tensor ${t.name} is in block ${m[1]} but ${archKey(Keys.llm.blockCount, arch)} is ${hp.blocks}`);
    }
  }
  if ((SUPPORTED_ARCHS as readonly string[]).includes(arch)) checkLlamaShapes(file, arch, hp);
  if (options.scanValues ?? true) assertFiniteTensors(file);
  return file;
}

/** Check a LoRA adapter GGUF against its vetted base model, as llama.cpp will use it; returns its parsed header. */
export function vetAdapterFile(path: string, base: GgufFile): GgufFile {
  const file = readGguf(path);
  const kind = metaString(file, Keys.general.type, "");
  if (kind !== "adapter") fail(file, `general.type is ${kind ? `"${kind}"` : "missing"}; expected "adapter" (is this a model rather than a LoRA adapter?)`);
  const loraType = metaString(file, Keys.adapter.type, "");
  if (loraType !== "lora") fail(file, `adapter.type is ${loraType ? `"${loraType}"` : "missing"}; expected "lora"`);
  const arch = metaString(file, Keys.general.architecture);
  const baseArch = metaString(base, Keys.general.architecture);
  if (arch !== baseArch) fail(file, `is an adapter for ${arch} models; the base model ${base.path} is ${baseArch}`);
  if (file.metadata.has(Keys.adapter.loraAlpha)) {
    const alpha = metaNumber(file, Keys.adapter.loraAlpha);
    if (!Number.isFinite(alpha)) fail(file, `${Keys.adapter.loraAlpha} is ${alpha}; expected a finite number`);
  }
  checkTensorTable(file);

  // Pair lora_a with lora_b as llama.cpp does (llama-adapter.cpp); norm vectors are skipped there.
  const pairs = new Map<string, { a?: GgufTensorInfo; b?: GgufTensorInfo }>();
  for (const t of file.tensors) {
    const m = /^(.*)\.lora_([ab])$/.exec(t.name);
    if (!m) {
      if (t.name.endsWith("_norm.weight")) continue;
      fail(file, `tensor ${t.name} is neither a .lora_a nor a .lora_b tensor`);
    }
    const pair = pairs.get(m[1]!) ?? {};
    pair[m[2] as "a" | "b"] = t;
    pairs.set(m[1]!, pair);
  }
  if (pairs.size === 0) fail(file, "holds no lora_a/lora_b tensor pairs");
  for (const [target, { a, b }] of pairs) {
    if (!a || !b) fail(file, `${target} has ${a ? "lora_a" : "lora_b"} but no ${a ? "lora_b" : "lora_a"}`);
    if (a.dims.length !== 2 || b.dims.length !== 2) fail(file, `${target}: lora_a and lora_b must be matrices, found shapes [${a.dims.join(", ")}] and [${b.dims.join(", ")}]`);
    const baseTensor = base.tensors.find((t) => t.name === target);
    if (!baseTensor) fail(file, `adapts ${target}, which the base model ${base.path} does not have`);
    // llama.cpp's layout: W [nIn, nOut], A [nIn, r], B [r, nOut]; token_embd has A and B flipped.
    const flipped = target.endsWith(`${TensorNames.tokenEmbd}.weight`);
    const [nIn, nOut] = [baseTensor.dims[0]!, baseTensor.dims[1] ?? 1];
    const rank = flipped ? a.dims[0]! : a.dims[1]!;
    const expectA = flipped ? [rank, nOut] : [nIn, rank];
    const expectB = flipped ? [rank, nIn] : [rank, nOut];
    if (rank < 1 || rank > VET_LIMITS.loraRank) fail(file, `${target}: LoRA rank ${rank} is outside 1..${VET_LIMITS.loraRank}`);
    if (!sameDims(a.dims, expectA) || !sameDims(b.dims, expectB)) {
      fail(file, `${target}: expected lora_a [${expectA.join(", ")}] and lora_b [${expectB.join(", ")}] for the base tensor [${baseTensor.dims.join(", ")}], found [${a.dims.join(", ")}] and [${b.dims.join(", ")}]`);
    }
  }
  assertFiniteTensors(file);
  return file;
}

function fail(file: GgufFile, detail: string): never {
  throw new GgufError(file.path, detail);
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** No absurd dimension, and no two tensors sharing bytes. */
function checkTensorTable(file: GgufFile): void {
  for (const t of file.tensors) {
    const d = t.dims.findIndex((n) => n > VET_LIMITS.tensorDim);
    if (d >= 0) fail(file, `tensor ${t.name} has dimension ${d} of ${t.dims[d]}; the limit is ${VET_LIMITS.tensorDim}`);
  }
  const byOffset = [...file.tensors].sort((x, y) => x.offset - y.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!, cur = byOffset[i]!;
    if (cur.offset < prev.offset + prev.byteSize) fail(file, `tensors ${prev.name} and ${cur.name} overlap (data at ${prev.offset}+${prev.byteSize} and ${cur.offset})`);
  }
}

interface Hparams {
  dim: number | null;
  blocks: number | null;
  heads: number | null;
  kvHeads: number | null;
  ffn: number | null;
  keyLength: number | null;
  valueLength: number | null;
  vocab: number | null;
}

/** Every present hyper-parameter in bounds; scalars returned (null when absent or per-layer). */
function readHparams(file: GgufFile, arch: string): Hparams {
  const scalar = new Map<string, number>();
  for (const { key: template, min, max } of HPARAMS) {
    const key = archKey(template, arch);
    const entry = file.metadata.get(key);
    if (!entry) continue;
    const values = Array.isArray(entry.value) ? entry.value : [entry.value];
    for (const v of values) {
      const n = typeof v === "bigint" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) fail(file, `metadata ${key} is ${String(v)}; expected an integer in ${min}..${max}`);
    }
    if (!Array.isArray(entry.value)) scalar.set(template, values[0] as number);
  }
  const tokens = metaArray(file, Keys.tokenizer.tokens);
  if (tokens && tokens.value.length > VET_LIMITS.vocabSize) fail(file, `the tokenizer has ${tokens.value.length} tokens; the limit is ${VET_LIMITS.vocabSize}`);
  const get = (k: string): number | null => scalar.get(k) ?? null;
  return {
    dim: get(Keys.llm.embeddingLength),
    blocks: get(Keys.llm.blockCount),
    heads: get(Keys.attention.headCount),
    kvHeads: get(Keys.attention.headCountKv),
    ffn: get(Keys.llm.feedForwardLength),
    keyLength: get(Keys.attention.keyLength),
    valueLength: get(Keys.attention.valueLength),
    vocab: tokens?.value.length ?? get(Keys.llm.vocabSize),
  };
}

/** Shapes of the llama-family tensors (llama, qwen2, qwen3: llama.cpp's llama-model.cpp), checked against the hyper-parameters. */
function checkLlamaShapes(file: GgufFile, arch: string, hp: Hparams): void {
  const need = (v: number | null, template: string): number => {
    if (v === null || v === 0) fail(file, `metadata ${archKey(template, arch)} is missing (or per-layer); a ${arch} model needs one value`);
    return v;
  };
  const dim = need(hp.dim, Keys.llm.embeddingLength);
  const blocks = need(hp.blocks, Keys.llm.blockCount);
  const heads = need(hp.heads, Keys.attention.headCount);
  const kvHeads = hp.kvHeads ?? heads;
  if (kvHeads === 0 || heads % kvHeads !== 0) fail(file, `${archKey(Keys.attention.headCount, arch)} (${heads}) must be a multiple of ${archKey(Keys.attention.headCountKv, arch)} (${kvHeads})`);
  const kLen = hp.keyLength ?? dim / heads;
  const vLen = hp.valueLength ?? kLen;
  if (!Number.isInteger(kLen)) fail(file, `embedding length ${dim} is not a multiple of the ${heads} heads and no key length is given`);
  const rot = metaNumber(file, archKey(Keys.rope.dimensionCount, arch), kLen);
  if (!Number.isInteger(rot) || rot < 2 || rot > kLen || rot % 2 !== 0) fail(file, `metadata ${archKey(Keys.rope.dimensionCount, arch)} is ${rot}; expected an even integer in 2..${kLen}`);

  const expected = new Map<string, readonly number[]>();
  const put = (template: string, bid: number | null, suffix: "weight" | "bias", dims: readonly number[]): void => {
    expected.set(tensorName(template, bid, suffix), dims);
  };
  if (hp.vocab !== null) {
    put(TensorNames.tokenEmbd, null, "weight", [dim, hp.vocab]);
    put(TensorNames.output, null, "weight", [dim, hp.vocab]);
  }
  put(TensorNames.outputNorm, null, "weight", [dim]);
  put(TensorNames.ropeFreqs, null, "weight", [rot / 2]);
  for (let b = 0; b < blocks; b++) {
    put(TensorNames.attnNorm, b, "weight", [dim]);
    put(TensorNames.attnQ, b, "weight", [dim, heads * kLen]);
    put(TensorNames.attnK, b, "weight", [dim, kvHeads * kLen]);
    put(TensorNames.attnV, b, "weight", [dim, kvHeads * vLen]);
    put(TensorNames.attnQ, b, "bias", [heads * kLen]);
    put(TensorNames.attnK, b, "bias", [kvHeads * kLen]);
    put(TensorNames.attnV, b, "bias", [kvHeads * vLen]);
    put(TensorNames.attnOutput, b, "weight", [heads * vLen, dim]);
    put(TensorNames.attnQNorm, b, "weight", [kLen]);
    put(TensorNames.attnKNorm, b, "weight", [kLen]);
    put(TensorNames.ffnNorm, b, "weight", [dim]);
    if (hp.ffn) {
      put(TensorNames.ffnGate, b, "weight", [dim, hp.ffn]);
      put(TensorNames.ffnUp, b, "weight", [dim, hp.ffn]);
      put(TensorNames.ffnDown, b, "weight", [hp.ffn, dim]);
    }
  }
  for (const t of file.tensors) {
    const want = expected.get(t.name);
    if (want && !sameDims(t.dims, want)) fail(file, `tensor ${t.name} has shape [${t.dims.join(", ")}]; the metadata implies [${want.join(", ")}]`);
  }
}
