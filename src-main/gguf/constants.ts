// The GGUF format in one place: magic, versions, value types, ggml tensor types, metadata
// keys and tensor-name templates. Numbers mirror llama.cpp's ggml/include/gguf.h and ggml.h
// (enum gguf_type, enum ggml_type) and gguf-py/gguf/constants.py; no key is spelled elsewhere.

/** "GGUF" read as a little-endian uint32. */
export const GGUF_MAGIC = 0x46554747;
/** Versions this reader understands; the writer emits the newest. */
export const GGUF_READ_VERSIONS = [2, 3] as const;
export const GGUF_WRITE_VERSION = 3;
/** Alignment of the tensor data section when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (enum gguf_type). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Byte size of each fixed-size metadata value type. */
export const GGUF_SCALAR_SIZE: Readonly<Record<number, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Tensor element types (enum ggml_type). Gaps are types removed from ggml. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** Elements per block and bytes per block of each type (ggml.c type_traits). */
export const GGML_BLOCK: Readonly<Record<number, { elements: number; bytes: number }>> = {
  [GgmlType.F32]: { elements: 1, bytes: 4 },
  [GgmlType.F16]: { elements: 1, bytes: 2 },
  [GgmlType.Q4_0]: { elements: 32, bytes: 18 },
  [GgmlType.Q4_1]: { elements: 32, bytes: 20 },
  [GgmlType.Q5_0]: { elements: 32, bytes: 22 },
  [GgmlType.Q5_1]: { elements: 32, bytes: 24 },
  [GgmlType.Q8_0]: { elements: 32, bytes: 34 },
  [GgmlType.Q8_1]: { elements: 32, bytes: 36 },
  [GgmlType.Q2_K]: { elements: 256, bytes: 84 },
  [GgmlType.Q3_K]: { elements: 256, bytes: 110 },
  [GgmlType.Q4_K]: { elements: 256, bytes: 144 },
  [GgmlType.Q5_K]: { elements: 256, bytes: 176 },
  [GgmlType.Q6_K]: { elements: 256, bytes: 210 },
  [GgmlType.Q8_K]: { elements: 256, bytes: 292 },
  [GgmlType.IQ2_XXS]: { elements: 256, bytes: 66 },
  [GgmlType.IQ2_XS]: { elements: 256, bytes: 74 },
  [GgmlType.IQ3_XXS]: { elements: 256, bytes: 98 },
  [GgmlType.IQ1_S]: { elements: 256, bytes: 50 },
  [GgmlType.IQ4_NL]: { elements: 32, bytes: 18 },
  [GgmlType.IQ3_S]: { elements: 256, bytes: 110 },
  [GgmlType.IQ2_S]: { elements: 256, bytes: 82 },
  [GgmlType.IQ4_XS]: { elements: 256, bytes: 136 },
  [GgmlType.I8]: { elements: 1, bytes: 1 },
  [GgmlType.I16]: { elements: 1, bytes: 2 },
  [GgmlType.I32]: { elements: 1, bytes: 4 },
  [GgmlType.I64]: { elements: 1, bytes: 8 },
  [GgmlType.F64]: { elements: 1, bytes: 8 },
  [GgmlType.IQ1_M]: { elements: 256, bytes: 56 },
  [GgmlType.BF16]: { elements: 1, bytes: 2 },
  [GgmlType.TQ1_0]: { elements: 256, bytes: 54 },
  [GgmlType.TQ2_0]: { elements: 256, bytes: 66 },
  [GgmlType.MXFP4]: { elements: 32, bytes: 17 },
};

/** The name of a ggml type number, for messages ("Q4_K"), or "type N" when unknown. */
export function ggmlTypeName(type: number): string {
  for (const [name, value] of Object.entries(GgmlType)) if (value === type) return name;
  return `type ${type}`;
}

/** Metadata keys. `{arch}` stands for the value of general.architecture. */
export const Keys = {
  general: {
    architecture: "general.architecture",
    name: "general.name",
    alignment: "general.alignment",
    fileType: "general.file_type",
    quantizationVersion: "general.quantization_version",
    type: "general.type",
  },
  llm: {
    contextLength: "{arch}.context_length",
    embeddingLength: "{arch}.embedding_length",
    blockCount: "{arch}.block_count",
    feedForwardLength: "{arch}.feed_forward_length",
    vocabSize: "{arch}.vocab_size",
  },
  attention: {
    headCount: "{arch}.attention.head_count",
    headCountKv: "{arch}.attention.head_count_kv",
    keyLength: "{arch}.attention.key_length",
    valueLength: "{arch}.attention.value_length",
    layerNormRmsEpsilon: "{arch}.attention.layer_norm_rms_epsilon",
  },
  rope: {
    dimensionCount: "{arch}.rope.dimension_count",
    freqBase: "{arch}.rope.freq_base",
    scalingType: "{arch}.rope.scaling.type",
    scalingFactor: "{arch}.rope.scaling.factor",
    scalingOriginalContextLength: "{arch}.rope.scaling.original_context_length",
  },
  tokenizer: {
    model: "tokenizer.ggml.model",
    pre: "tokenizer.ggml.pre",
    tokens: "tokenizer.ggml.tokens",
    tokenType: "tokenizer.ggml.token_type",
    scores: "tokenizer.ggml.scores",
    merges: "tokenizer.ggml.merges",
    bosTokenId: "tokenizer.ggml.bos_token_id",
    eosTokenId: "tokenizer.ggml.eos_token_id",
    unknownTokenId: "tokenizer.ggml.unknown_token_id",
    paddingTokenId: "tokenizer.ggml.padding_token_id",
    addBosToken: "tokenizer.ggml.add_bos_token",
    addEosToken: "tokenizer.ggml.add_eos_token",
    addSpacePrefix: "tokenizer.ggml.add_space_prefix",
    chatTemplate: "tokenizer.chat_template",
  },
  adapter: {
    type: "adapter.type",
    loraAlpha: "adapter.lora.alpha",
  },
} as const;

/** Substitute the architecture into a `{arch}` key template. */
export function archKey(template: string, arch: string): string {
  return template.replace("{arch}", arch);
}

/** Tensor-name templates; `{bid}` is the block (layer) index. */
export const TensorNames = {
  tokenEmbd: "token_embd",
  outputNorm: "output_norm",
  output: "output",
  attnNorm: "blk.{bid}.attn_norm",
  attnQ: "blk.{bid}.attn_q",
  attnK: "blk.{bid}.attn_k",
  attnV: "blk.{bid}.attn_v",
  attnOutput: "blk.{bid}.attn_output",
  attnQNorm: "blk.{bid}.attn_q_norm",
  attnKNorm: "blk.{bid}.attn_k_norm",
  ffnNorm: "blk.{bid}.ffn_norm",
  ffnGate: "blk.{bid}.ffn_gate",
  ffnUp: "blk.{bid}.ffn_up",
  ffnDown: "blk.{bid}.ffn_down",
  ropeFreqs: "rope_freqs",
} as const;

/** `blk.{bid}.attn_q` + layer 3 + "weight" → "blk.3.attn_q.weight". */
export function tensorName(template: string, bid: number | null, suffix: "weight" | "bias" | "weight.lora_a" | "weight.lora_b"): string {
  const base = bid === null ? template : template.replace("{bid}", String(bid));
  return `${base}.${suffix}`;
}

/** Token types in tokenizer.ggml.token_type (llama.cpp enum llama_token_type). */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** general.file_type values (enum llama_ftype) for the types the writer emits. */
export const FileType = {
  ALL_F32: 0,
  MOSTLY_F16: 1,
  MOSTLY_Q8_0: 7,
  MOSTLY_Q4_K_M: 15,
} as const;

/** Architectures the factory writes and the training engine builds. */
export const SUPPORTED_ARCHS = ["llama", "qwen2", "qwen3"] as const;
export type SupportedArch = (typeof SUPPORTED_ARCHS)[number];
