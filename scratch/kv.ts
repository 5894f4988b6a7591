import { getLlama } from "node-llama-cpp";
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never } as never);
const model = await llama.loadModel({ modelPath: "/tmp/abl-attnonly.gguf" });
const toks = [1, ...model.tokenize("The quick")];
for (const fa of [false, true]) for (const kv of ["F32", "F16"]) {
  const ctx = await model.createContext({ contextSize: 256, sequences: 1, threads: 1, flashAttention: fa, experimentalKvCacheKeyType: kv as never, experimentalKvCacheValueType: kv as never });
  const seq = ctx.getSequence();
  const out = await seq.controlledEvaluate(toks.map((t, i) => i === toks.length - 1 ? [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }] : t) as never);
  const probs = out[toks.length - 1]!.next!.probabilities!;
  console.log("fa", fa, kv, [...probs.entries()].slice(0, 3).map(([t, p]) => `${t}:${Math.log(p).toFixed(6)}`).join(" "));
  await ctx.dispose();
}
