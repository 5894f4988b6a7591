import { RolloutEngine } from "../src-main/rollout/rollout-engine.js";
import { LlamaForward } from "../src-main/train/llama/llama-forward.js";
import { loadLlamaWeights } from "../src-main/train/llama/llama-weights.js";
const p = `/tmp/eq-llama-F32.gguf`;
const w = loadLlamaWeights(p);
const engine = await RolloutEngine.load({ modelPath: p, parallel: 1 });
const fwd = await LlamaForward.create(w);
const seq = engine.tokenize("The");
const [ours] = await fwd.nextTokenLogProbs([seq]);
const ref = await engine.nextTokenLogProbs(seq, w.config.vocab, "F32");
let s = 0; for (const x of ref) s += Math.exp(x); console.log("sum p", s);
const d = Array.from(ref, (r, i) => r - ours![i]!);
const idx = [...d.keys()].sort((a, b) => Math.abs(d[b]!) - Math.abs(d[a]!)).slice(0, 8);
for (const i of idx) console.log(i, "ref", ref[i]!.toFixed(5), "ours", ours![i]!.toFixed(5), "d", d[i]!.toExponential(2));
// correlation of d with ours
const n = d.length; const mx = ours!.reduce((a, b) => a + b, 0) / n; const md = d.reduce((a, b) => a + b, 0) / n;
let cov = 0, vx = 0; for (let i = 0; i < n; i++) { cov += (ours![i]! - mx) * (d[i]! - md); vx += (ours![i]! - mx) ** 2; }
console.log("slope", cov / vx, "mean d", md);
await engine.dispose(); await fwd.dispose();
