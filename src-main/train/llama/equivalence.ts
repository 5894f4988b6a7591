// The check that must always hold: for the same weights (and adapter), llama.cpp's next-token
// distribution and the ONNX training graph's agree.
import { writeLoraGguf } from "../../model/lora-file.js";
import { RolloutEngine } from "../../rollout/rollout-engine.js";
import { LlamaForward } from "./llama-forward.js";
import { loadLlamaWeights } from "./llama-weights.js";
import { toLoraAdapter, type LoraConfig, type LoraPair } from "./lora.js";

/** Prompts of unequal lengths, so the ONNX side also runs padding masks. */
export const EQUIVALENCE_PROMPTS = ["Hello", "The quick brown fox jumps over the lazy dog", "1 + 2 = 3; 4 + 5 =", "def add(a, b):\n    return a + b", "Q: What is the capital of France?\nA:"];

/** The result of comparing the two engines. */
export interface EquivalenceReport {
  /** max |log p_llama.cpp − log p_onnx| over every prompt and every token of the vocabulary. */
  maxAbsDiff: number;
  /** topMargin: llama.cpp's best token's log-prob minus its second best (a near tie can flip under quantized activations). */
  prompts: { prompt: string; tokens: number; maxAbsDiff: number; sameArgmax: boolean; topMargin: number }[];
}

/**
 * Compare next-token log-probabilities (logits up to a constant) of llama.cpp and the ONNX graph on
 * `prompts`. `adapter` is either a LoRA GGUF already on disk with its pairs, or null.
 */
export async function checkEquivalence(
  modelPath: string,
  adapter: { path: string; config: LoraConfig; pairs: readonly LoraPair[] } | null,
  prompts: readonly string[] = EQUIVALENCE_PROMPTS,
): Promise<EquivalenceReport> {
  // Float32 holding: quantized weights exactly as llama.cpp dequantizes them, not rounded to float16.
  const weights = loadLlamaWeights(modelPath, undefined, "float32");
  const engine = await RolloutEngine.load({ modelPath, parallel: 1, adapter: adapter ? { path: adapter.path } : null, promptFormat: "raw" });
  const forward = await LlamaForward.create(weights, adapter);
  try {
    const sequences = prompts.map((p) => engine.tokenize(p));
    const onnx = await forward.nextTokenLogProbs(sequences);
    const report: EquivalenceReport = { maxAbsDiff: 0, prompts: [] };
    for (const [i, seq] of sequences.entries()) {
      const ref = await engine.nextTokenLogProbs(seq, weights.config.vocab, "exact");
      const ours = onnx[i]!;
      let diff = 0;
      let argRef = 0, argOurs = 0;
      for (let t = 0; t < ref.length; t++) {
        // A token llama.cpp gives probability 0 in float32 must be negligible on our side too.
        diff = Math.max(diff, Number.isFinite(ref[t]!) ? Math.abs(ref[t]! - ours[t]!) : ours[t]! > -80 ? Infinity : 0);
        if (ref[t]! > ref[argRef]!) argRef = t;
        if (ours[t]! > ours[argOurs]!) argOurs = t;
      }
      let second = -Infinity;
      for (let t = 0; t < ref.length; t++) if (t !== argRef && ref[t]! > second) second = ref[t]!;
      report.prompts.push({ prompt: prompts[i]!, tokens: seq.length, maxAbsDiff: diff, sameArgmax: argRef === argOurs, topMargin: ref[argRef]! - second });
      report.maxAbsDiff = Math.max(report.maxAbsDiff, diff);
    }
    return report;
  } finally {
    await forward.dispose();
    await engine.dispose();
  }
}

/** Write `pairs` as a llama.cpp adapter at `path` (for checks with a random adapter). */
export function writeAdapterFor(path: string, weights: ReturnType<typeof loadLlamaWeights>, config: LoraConfig, pairs: readonly LoraPair[]): void {
  writeLoraGguf(path, toLoraAdapter(weights.config, config, pairs));
}
