import { writeModelGguf } from "../src-main/model/model-file.js";
import { makeTinyModel } from "../src-main/model/tiny-model.js";
import { checkEquivalence, writeAdapterFor } from "../src-main/train/llama/equivalence.js";
import { loadLlamaWeights } from "../src-main/train/llama/llama-weights.js";
import { initLora } from "../src-main/train/llama/lora.js";
for (const arch of ["llama", "qwen2", "qwen3"]) for (const type of ["F32", "F16", "Q8_0"] as const) {
  const p = `/tmp/eq-${arch}-${type}.gguf`;
  writeModelGguf(p, makeTinyModel({ arch, seed: 3, tiedEmbeddings: arch === "qwen3", vocab: arch === "llama" ? "chars" : "bytes" }), type);
  const r = await checkEquivalence(p, null);
  const w = loadLlamaWeights(p);
  const config = { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] as const };
  const pairs = initLora(w.config, { ...config, targets: [...config.targets] }, 7, 0.3);
  writeAdapterFor(`/tmp/eq-${arch}-${type}.lora.gguf`, w, { ...config, targets: [...config.targets] }, pairs);
  const rl = await checkEquivalence(p, { path: `/tmp/eq-${arch}-${type}.lora.gguf`, config: { ...config, targets: [...config.targets] }, pairs });
  console.log(arch, type, r.maxAbsDiff.toExponential(2), r.prompts.every((x) => x.sameArgmax), "lora", rl.maxAbsDiff.toExponential(2), rl.prompts.every((x) => x.sameArgmax));
}
