// Hyper-parameters of a llama-family model, read from its GGUF metadata the way llama.cpp reads them.
import { Keys, SUPPORTED_ARCHS, TensorNames, archKey, tensorName, type SupportedArch } from "../../gguf/constants.js";
import { GgufError } from "../../gguf/errors.js";
import { metaArray, metaNumber, metaString } from "../../gguf/metadata.js";
import type { GgufFile } from "../../gguf/reader.js";

/** What the training graph needs to compute a model exactly as llama.cpp does. */
export interface LlamaConfig {
  arch: SupportedArch;
  layers: number;
  dim: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  vocab: number;
  contextLength: number;
  rmsEps: number;
  ropeBase: number;
  /** "norm" pairs (2i, 2i+1) (llama); "neox" pairs (i, i + D/2) (qwen2, qwen3). */
  ropeStyle: "norm" | "neox";
  /** Positions are divided by this (rope.scaling.type "linear"); 1 otherwise. */
  ropeLinearScale: number;
  /** Output head shares the token embedding (no output.weight tensor). */
  tiedEmbeddings: boolean;
  /** q/k/v projections have biases (qwen2). */
  qkvBias: boolean;
  /** RMSNorm on each head of q and k before RoPE (qwen3). */
  qkNorm: boolean;
  /** Per-dimension frequency divisors from rope_freqs.weight (llama 3.1 style), if present. */
  hasRopeFreqs: boolean;
}

/** Read the config of a llama / qwen2 / qwen3 GGUF; unsupported features are named in the error. */
export function readLlamaConfig(file: GgufFile): LlamaConfig {
  const arch = metaString(file, Keys.general.architecture);
  if (!(SUPPORTED_ARCHS as readonly string[]).includes(arch)) {
    throw new GgufError(file.path, `architecture "${arch}" is not supported for training (supported: ${SUPPORTED_ARCHS.join(", ")})`);
  }
  const a = (k: string): string => archKey(k, arch);
  const dim = metaNumber(file, a(Keys.llm.embeddingLength));
  const heads = metaNumber(file, a(Keys.attention.headCount));
  const names = new Set(file.tensors.map((t) => t.name));
  const scalingType = metaString(file, a(Keys.rope.scalingType), "none");
  if (scalingType !== "none" && scalingType !== "linear") {
    throw new GgufError(file.path, `RoPE scaling "${scalingType}" is not supported for training (supported: none, linear)`);
  }
  const vocab = metaArray(file, Keys.tokenizer.tokens)?.value.length ?? metaNumber(file, a(Keys.llm.vocabSize));
  return {
    arch: arch as SupportedArch,
    layers: metaNumber(file, a(Keys.llm.blockCount)),
    dim,
    heads,
    kvHeads: metaNumber(file, a(Keys.attention.headCountKv), heads),
    headDim: metaNumber(file, a(Keys.attention.keyLength), dim / heads),
    ffn: metaNumber(file, a(Keys.llm.feedForwardLength)),
    vocab,
    contextLength: metaNumber(file, a(Keys.llm.contextLength)),
    rmsEps: metaNumber(file, a(Keys.attention.layerNormRmsEpsilon), 1e-5),
    ropeBase: metaNumber(file, a(Keys.rope.freqBase), 10000),
    ropeStyle: arch === "llama" ? "norm" : "neox",
    ropeLinearScale: scalingType === "linear" ? metaNumber(file, a(Keys.rope.scalingFactor), 1) : 1,
    tiedEmbeddings: !names.has(tensorName(TensorNames.output, null, "weight")),
    qkvBias: names.has(tensorName(TensorNames.attnQ, 0, "bias")),
    qkNorm: names.has(tensorName(TensorNames.attnQNorm, 0, "weight")),
    hasRopeFreqs: names.has(tensorName(TensorNames.ropeFreqs, null, "weight")),
  };
}
