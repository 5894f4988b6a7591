import { writeModelGguf } from "../src-main/model/model-file.js";
import { makeTinyModel } from "../src-main/model/tiny-model.js";
import { RolloutEngine } from "../src-main/rollout/rollout-engine.js";
import { LlamaForward } from "../src-main/train/llama/llama-forward.js";
import { loadLlamaWeights } from "../src-main/train/llama/llama-weights.js";
for (const variant of ["noblocks", "attnonly", "ffnonly", "full"]) {
  const m = makeTinyModel({ arch: "llama", seed: 3 });
  for (const t of m.tensors) {
    if ((variant === "noblocks" || variant === "ffnonly") && /attn_output/.test(t.name)) t.values.fill(0);
    if ((variant === "noblocks" || variant === "attnonly") && /ffn_down/.test(t.name)) t.values.fill(0);
  }
  const p = `/tmp/abl-${variant}.gguf`;
  writeModelGguf(p, m, "F32");
  const w = loadLlamaWeights(p);
  const engine = await RolloutEngine.load({ modelPath: p, parallel: 1 });
  const fwd = await LlamaForward.create(w);
  const seq = engine.tokenize("The quick");
  const [ours] = await fwd.nextTokenLogProbs([seq]);
  const ref = await engine.nextTokenLogProbs(seq, w.config.vocab, "F32");
  let d = 0; for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i]! - ours![i]!));
  console.log(variant, d.toExponential(2));
  await engine.dispose(); await fwd.dispose();
}
