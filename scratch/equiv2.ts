import { RolloutEngine } from "../src-main/rollout/rollout-engine.js";
import { LlamaForward } from "../src-main/train/llama/llama-forward.js";
import { loadLlamaWeights } from "../src-main/train/llama/llama-weights.js";
const p = `/tmp/eq-${process.argv[2] ?? "llama"}-F32.gguf`;
const w = loadLlamaWeights(p);
const engine = await RolloutEngine.load({ modelPath: p, parallel: 1 });
const fwd = await LlamaForward.create(w);
const text = "The quick brown fox jumps over the lazy dog and then some more text";
const toks = engine.tokenize(text);
for (const n of [1, 2, 3, 5, 10, 20, 40]) {
  const seq = toks.slice(0, n);
  const [ours] = await fwd.nextTokenLogProbs([seq]);
  for (const kv of ["F32", "F16", "Q8_0"] as const) {
    const ref = await engine.nextTokenLogProbs(seq, w.config.vocab, kv);
    let d = 0; for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i]! - ours![i]!));
    process.stdout.write(`n=${n} ${kv} ${d.toExponential(2)}  `);
  }
  console.log();
}
await engine.dispose(); await fwd.dispose();
