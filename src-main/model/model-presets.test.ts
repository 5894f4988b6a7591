// Factory models of real vocabulary size and with a chat template: llama.cpp loads them, its BPE
// applies the generated merges, and the ONNX graph still matches its logits.
import { describe, expect, it } from "vitest";
import { Keys } from "../gguf/constants.js";
import { readGguf } from "../gguf/reader.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeTinyModel } from "../testing/tiny-files.js";
import { checkEquivalence } from "../train/llama/equivalence.js";
import { MODEL_PRESETS } from "./model-presets.js";
import { generatedMerges, makeVocab } from "./vocab.js";

const tmp = useTempDir();

describe("generated merges", () => {
  it("fill a vocabulary to the size asked, every merge made of existing tokens", () => {
    const vocab = makeVocab("bytes", { size: 20_000, chat: true });
    expect(vocab.tokens).toHaveLength(20_000);
    expect(new Set(vocab.tokens).size).toBe(20_000);
    const known = new Set<string>(vocab.tokens.slice(0, 256));
    for (const m of generatedMerges(20_000 - 259)) {
      const [a, b] = m.split(" ");
      expect(known.has(a!) && known.has(b!)).toBe(true);
      known.add(a! + b!);
    }
    expect(vocab.tokens[vocab.eos]).toBe("<|im_end|>");
    expect(() => makeVocab("bytes", { size: 100 })).toThrow(/vocabulary size/);
    expect(() => makeVocab("chars", { size: 1000 })).toThrow(/bytes/);
  });

  it("leave the unsized byte vocabulary as it was (the built-in model's tokenizer)", () => {
    const vocab = makeVocab("bytes");
    expect(vocab.tokens).toHaveLength(257);
    expect(vocab.eos).toBe(256);
  });
});

describe("a factory model with Qwen2.5's vocabulary size and a chat template", () => {
  it("loads in llama.cpp, tokenizes with the merges, round-trips text, and matches llama.cpp's logits", async () => {
    const preset = MODEL_PRESETS["qwen2.5-0.5b"];
    const path = tmp.path("qwen-vocab.gguf");
    writeTinyModel(path, { arch: "qwen2", layers: 1, dim: 64, heads: 4, kvHeads: 2, ffn: 128, vocab: "bytes", vocabSize: preset.vocabSize, chatTemplate: true, tiedEmbeddings: true, seed: 3 }, "F32");
    const file = readGguf(path);
    expect(file.metadata.get(Keys.tokenizer.chatTemplate)?.value).toMatch(/<\|im_start\|>/);
    const engine = await RolloutEngine.load({ modelPath: path });
    try {
      const text = "Hello world, 12+30=42!";
      const tokens = engine.tokenize(text);
      // Pairs of printable characters are merged: fewer tokens than bytes.
      expect(tokens.length).toBeLessThan(Buffer.byteLength(text));
      expect(engine.detokenize(tokens)).toBe(text);
      expect(Math.max(...tokens)).toBeGreaterThan(256);
    } finally {
      await engine.dispose();
    }
    const report = await checkEquivalence(path, null);
    // F32 weights: the bound of the F32 equivalence tests.
    expect(report.maxAbsDiff).toBeLessThan(1e-3);
  }, 300_000);
});
