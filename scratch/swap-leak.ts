import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeLoraGguf } from "../src-main/model/lora-file.js";
import { writeModelGguf } from "../src-main/model/model-file.js";
import { randomLora } from "../src-main/model/random-lora.js";
import { makeTinyModel } from "../src-main/model/tiny-model.js";
import { RolloutEngine } from "../src-main/rollout/rollout-engine.js";
const mode = process.argv[2] ?? "swap";
const dir = mkdtempSync(join(tmpdir(), "leak-"));
const model = makeTinyModel({ arch: "llama", seed: 1 });
const mp = join(dir, "m.gguf");
writeModelGguf(mp, model, "F16");
const engine = await RolloutEngine.load({ modelPath: mp, parallel: 2 });
const g = (globalThis as any).gc as () => void;
const mem = () => { g(); const m = process.memoryUsage(); return `rss ${(m.rss/2**20).toFixed(1)} heap ${(m.heapUsed/2**20).toFixed(1)} ext ${(m.external/2**20).toFixed(1)} ab ${(m.arrayBuffers/2**20).toFixed(1)}`; };
const fixed = join(dir, "fixed.gguf");
writeLoraGguf(fixed, randomLora(model, { arch: "llama", rank: 16, alpha: 32, targets: ["attn_q","attn_k","attn_v","attn_output","ffn_gate","ffn_up","ffn_down"], bStd: 0.02, seed: 0 }));
for (let v = 0; v <= Number(process.argv[3] ?? 400); v++) {
  let path = fixed;
  if (mode === "swap") {
    path = join(dir, `a${v}.gguf`);
    writeLoraGguf(path, randomLora(model, { arch: "llama", rank: 16, alpha: 32, targets: ["attn_q","attn_k","attn_v","attn_output","ffn_gate","ffn_up","ffn_down"], bStd: 0.02, seed: v }));
    await engine.setAdapter(path);
  } else if (mode === "pool") {
    await engine.setAdapter(v % 2 ? fixed : null);
  }
  await engine.generate(["ab", "cd"], 2, { maxTokens: 4 });
  if (mode === "swap") rmSync(path);
  if (v % 200 === 0) console.log(mode, v, mem(), engine.loadedAdapters);
}
await engine.dispose();
