// Random-weight models of the supported architectures, small enough for tests to load and run
// in milliseconds. Shapes and keys are those llama.cpp's loader expects for each architecture.
import { SUPPORTED_ARCHS, type SupportedArch, Keys, TensorNames, archKey, tensorName } from "../gguf/constants.js";
import { kv } from "../gguf/metadata.js";
import type { GgufKv } from "../gguf/types.js";
import { Rng } from "../util/rng.js";
import type { ModelDescription, ModelTensor } from "./model-file.js";
import { makeVocab, type VocabKind } from "./vocab.js";

/** Hyper-parameters of a tiny model. */
export interface TinyModelSpec {
  arch: SupportedArch;
  /** Transformer blocks. */
  layers: number;
  /** Embedding width. */
  dim: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`). */
  kvHeads: number;
  /** Width of the SwiGLU hidden layer. */
  ffn: number;
  /** Per-head width; defaults to dim / heads (qwen3 may set it independently). */
  headDim?: number;
  vocab: VocabKind;
  /** Total vocabulary size ("bytes" only): merges are generated to fill it. */
  vocabSize?: number;
  /** Carry ChatML's control tokens and chat template ("bytes" only), as instruct models do. */
  chatTemplate?: boolean;
  /** Share the output projection with the token embedding. */
  tiedEmbeddings: boolean;
  contextLength: number;
  ropeFreqBase: number;
  rmsEps: number;
  seed: number;
}

/** Defaults: 2 layers, 64 wide, 4 query heads over 2 KV heads. */
export const DEFAULT_TINY_SPEC: Omit<TinyModelSpec, "arch"> = {
  layers: 2,
  dim: 64,
  heads: 4,
  kvHeads: 2,
  ffn: 128,
  vocab: "chars",
  tiedEmbeddings: false,
  contextLength: 2048,
  ropeFreqBase: 10000,
  rmsEps: 1e-5,
  seed: 1,
};

/** Check a spec and return it complete; throws a readable error for impossible shapes. */
export function resolveTinySpec(partial: Omit<Partial<TinyModelSpec>, "arch"> & { arch: string }): TinyModelSpec {
  if (!(SUPPORTED_ARCHS as readonly string[]).includes(partial.arch)) {
    throw new Error(`unknown architecture "${partial.arch}" (supported: ${SUPPORTED_ARCHS.join(", ")})`);
  }
  const spec = { ...DEFAULT_TINY_SPEC, ...partial } as TinyModelSpec;
  for (const k of ["layers", "dim", "heads", "kvHeads", "ffn", "contextLength"] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < 1) throw new Error(`${k} must be a positive integer, found ${spec[k]}`);
  }
  if (spec.heads % spec.kvHeads !== 0) throw new Error(`heads (${spec.heads}) must be a multiple of kvHeads (${spec.kvHeads})`);
  const headDim = spec.headDim ?? spec.dim / spec.heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new Error(`head width ${headDim} must be an even integer (dim ${spec.dim} / heads ${spec.heads})`);
  if (spec.headDim !== undefined && spec.arch !== "qwen3" && spec.headDim !== spec.dim / spec.heads) {
    throw new Error(`${spec.arch} requires headDim = dim / heads; only qwen3 sets it independently`);
  }
  return { ...spec, headDim };
}

/** A complete random model: metadata (architecture, hyper-parameters, tokenizer) and tensors. */
export function makeTinyModel(partial: Omit<Partial<TinyModelSpec>, "arch"> & { arch: string }): ModelDescription {
  const s = resolveTinySpec(partial);
  const hd = s.headDim!;
  const rng = new Rng(s.seed);
  const vocab = makeVocab(s.vocab, { pre: s.arch === "llama" ? "default" : "qwen2", ...(s.vocabSize === undefined ? {} : { size: s.vocabSize }), chat: s.chatTemplate === true });
  const nVocab = vocab.tokens.length;
  const a = (template: string): string => archKey(template, s.arch);

  const metadata = new Map<string, GgufKv>([
    [Keys.general.architecture, kv.str(s.arch)],
    [Keys.general.name, kv.str(`tiny-${s.arch}-${s.layers}x${s.dim}-seed${s.seed}`)],
    [a(Keys.llm.contextLength), kv.u32(s.contextLength)],
    [a(Keys.llm.embeddingLength), kv.u32(s.dim)],
    [a(Keys.llm.blockCount), kv.u32(s.layers)],
    [a(Keys.llm.feedForwardLength), kv.u32(s.ffn)],
    [a(Keys.llm.vocabSize), kv.u32(nVocab)],
    [a(Keys.attention.headCount), kv.u32(s.heads)],
    [a(Keys.attention.headCountKv), kv.u32(s.kvHeads)],
    [a(Keys.attention.keyLength), kv.u32(hd)],
    [a(Keys.attention.valueLength), kv.u32(hd)],
    [a(Keys.attention.layerNormRmsEpsilon), kv.f32(s.rmsEps)],
    [a(Keys.rope.dimensionCount), kv.u32(hd)],
    [a(Keys.rope.freqBase), kv.f32(s.ropeFreqBase)],
    ...vocab.metadata,
  ]);

  const tensors: ModelTensor[] = [];
  // Weights scaled by 1/sqrt(fan-in) keep activations O(1) so logits are neither flat nor saturated.
  const matrix = (template: string, bid: number | null, nIn: number, nOut: number): void => {
    tensors.push({ name: tensorName(template, bid, "weight"), dims: [nIn, nOut], values: rng.normals(nIn * nOut, 1 / Math.sqrt(nIn)) });
  };
  const vector = (template: string, bid: number | null, n: number, suffix: "weight" | "bias", center: number, std: number): void => {
    const values = rng.normals(n, std).map((x) => x + center);
    tensors.push({ name: tensorName(template, bid, suffix), dims: [n], values });
  };

  // A tied embedding is also the output head: scale it like one.
  const embdStd = s.tiedEmbeddings ? 1 / Math.sqrt(s.dim) : 1;
  tensors.push({ name: tensorName(TensorNames.tokenEmbd, null, "weight"), dims: [s.dim, nVocab], values: rng.normals(s.dim * nVocab, embdStd) });
  for (let b = 0; b < s.layers; b++) {
    vector(TensorNames.attnNorm, b, s.dim, "weight", 1, 0.1);
    matrix(TensorNames.attnQ, b, s.dim, s.heads * hd);
    matrix(TensorNames.attnK, b, s.dim, s.kvHeads * hd);
    matrix(TensorNames.attnV, b, s.dim, s.kvHeads * hd);
    if (s.arch === "qwen2") {
      vector(TensorNames.attnQ, b, s.heads * hd, "bias", 0, 0.1);
      vector(TensorNames.attnK, b, s.kvHeads * hd, "bias", 0, 0.1);
      vector(TensorNames.attnV, b, s.kvHeads * hd, "bias", 0, 0.1);
    }
    if (s.arch === "qwen3") {
      vector(TensorNames.attnQNorm, b, hd, "weight", 1, 0.1);
      vector(TensorNames.attnKNorm, b, hd, "weight", 1, 0.1);
    }
    matrix(TensorNames.attnOutput, b, s.heads * hd, s.dim);
    vector(TensorNames.ffnNorm, b, s.dim, "weight", 1, 0.1);
    matrix(TensorNames.ffnGate, b, s.dim, s.ffn);
    matrix(TensorNames.ffnUp, b, s.dim, s.ffn);
    matrix(TensorNames.ffnDown, b, s.ffn, s.dim);
  }
  vector(TensorNames.outputNorm, null, s.dim, "weight", 1, 0.1);
  // Without an output tensor llama.cpp reuses token_embd: that is what "tied" means in GGUF.
  if (!s.tiedEmbeddings) matrix(TensorNames.output, null, s.dim, nVocab);
  return { metadata, tensors };
}
