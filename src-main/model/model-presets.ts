// The shapes users bring, as factory presets: the body and vocabulary size of each model family
// (published config.json values), so every real-size figure is reproducible without a download.
// Every preset carries ChatML as its chat template (Llama 3's own template differs).
import type { TinyModelSpec } from "./tiny-model.js";

/** A preset: everything but the seed. */
export type ModelPreset = Omit<TinyModelSpec, "seed">;

export const MODEL_PRESETS = {
  "qwen2.5-0.5b": { arch: "qwen2", layers: 24, dim: 896, heads: 14, kvHeads: 2, ffn: 4864, vocab: "bytes", vocabSize: 151936, chatTemplate: true, tiedEmbeddings: true, contextLength: 32768, ropeFreqBase: 1_000_000, rmsEps: 1e-6 },
  "qwen2.5-1.5b": { arch: "qwen2", layers: 28, dim: 1536, heads: 12, kvHeads: 2, ffn: 8960, vocab: "bytes", vocabSize: 151936, chatTemplate: true, tiedEmbeddings: true, contextLength: 32768, ropeFreqBase: 1_000_000, rmsEps: 1e-6 },
  "llama-3.2-1b": { arch: "llama", layers: 16, dim: 2048, heads: 32, kvHeads: 8, ffn: 8192, vocab: "bytes", vocabSize: 128256, chatTemplate: true, tiedEmbeddings: true, contextLength: 131072, ropeFreqBase: 500_000, rmsEps: 1e-5 },
  "smollm2-360m": { arch: "llama", layers: 32, dim: 960, heads: 15, kvHeads: 5, ffn: 2560, vocab: "bytes", vocabSize: 49152, chatTemplate: true, tiedEmbeddings: true, contextLength: 8192, ropeFreqBase: 100_000, rmsEps: 1e-5 },
} as const satisfies Record<string, ModelPreset>;

export type ModelPresetName = keyof typeof MODEL_PRESETS;
export const MODEL_PRESET_NAMES = Object.keys(MODEL_PRESETS) as ModelPresetName[];
