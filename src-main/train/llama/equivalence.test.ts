// llama.cpp is the oracle: the ONNX graph's next-token log-probs must match its own on factory
// models of every supported architecture, with and without a random non-zero LoRA.
import { describe, expect, it } from "vitest";
import { SUPPORTED_ARCHS } from "../../gguf/constants.js";
import { WEIGHT_TYPES, type WeightType } from "../../model/model-file.js";
import { useTempDir } from "../../testing/temp-dir.js";
import { writeTinyModel } from "../../testing/tiny-files.js";
import { checkEquivalence, writeAdapterFor } from "./equivalence.js";
import { loadLlamaWeights } from "./llama-weights.js";
import { initLora, type LoraConfig } from "./lora.js";

const tmp = useTempDir();

/**
 * Bounds by storage type. F32: both sides compute in float32 (llama.cpp with F32 KV cache and
 * flash attention off). F16: llama.cpp's CPU matmul rounds activations to F16 before each dot
 * product with an F16 weight (relative 4.9e-4 per element). Q8_0: it quantizes activations to
 * Q8_0 blocks (a scale per 32 values, 8-bit codes), so errors of several 1e-2 are expected; with
 * Q4_K weights it quantizes activations to Q8_K (a scale per 256 values) likewise.
 */
const BOUND: Record<WeightType, number> = { F32: 1e-3, F16: 3e-3, Q8_0: 0.2, Q4_K: 0.2 };
/** Q4_K blocks are 256 values: rows that short (dim, ffn) keep Q4_K instead of falling back. */
const SHAPE: Partial<Record<WeightType, object>> = { Q4_K: { dim: 256, ffn: 512 } };
const LORA: LoraConfig = { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] };

describe.each(SUPPORTED_ARCHS)("%s: ONNX graph vs llama.cpp", (arch) => {
  it.each(WEIGHT_TYPES.map((t) => [t]))("%s weights, with and without a random LoRA", async (type) => {
    const path = tmp.path(`${arch}-${type}.gguf`);
    writeTinyModel(path, { arch, seed: 13, vocab: arch === "llama" ? "chars" : "bytes", tiedEmbeddings: arch === "qwen3", ...SHAPE[type] }, type);
    const base = await checkEquivalence(path, null);
    expect(base.maxAbsDiff).toBeLessThan(BOUND[type]);
    // The same best token, unless llama.cpp's own top two are closer than the measured difference.
    expect(base.prompts.every((p) => p.sameArgmax || p.topMargin <= 2 * p.maxAbsDiff)).toBe(true);

    const weights = loadLlamaWeights(path);
    const pairs = initLora(weights.config, LORA, 5, 0.3);
    const adapterPath = tmp.path(`${arch}-${type}.lora.gguf`);
    writeAdapterFor(adapterPath, weights, LORA, pairs);
    const adapted = await checkEquivalence(path, { path: adapterPath, config: LORA, pairs });
    expect(adapted.maxAbsDiff).toBeLessThan(BOUND[type]);
    // The adapter must matter, or the check above proves nothing about LoRA.
    const unadapted = await checkEquivalence(path, { path: adapterPath, config: LORA, pairs: pairs.map((p) => ({ ...p, b: new Float32Array(p.b.length) })) });
    expect(unadapted.maxAbsDiff).toBeGreaterThan(10 * BOUND[type]);
  });
});
