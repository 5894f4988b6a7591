import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readLoraGguf } from "../../model/lora-file.js";
import { RolloutEngine } from "../../rollout/rollout-engine.js";
import { useTempDir } from "../../testing/temp-dir.js";
import { writeTinyModel } from "../../testing/tiny-files.js";
import { readSafetensors } from "../../util/safetensors.js";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import { exportLoraGguf, exportPeft, mergeLora, unpermuteRows, writeMergedGguf } from "./export.js";
import { loadLlamaWeights } from "./llama-weights.js";
import { initLora, type LoraConfig } from "./lora.js";
import { PolicyModel } from "./policy-model.js";

const tmp = useTempDir();
const LORA: LoraConfig = { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] };

describe("exports", () => {
  it("a merged GGUF gives llama.cpp the same distribution as base + adapter", async () => {
    writeTinyModel(tmp.path("base.gguf"), { arch: "llama", seed: 6 });
    const weights = loadLlamaWeights(tmp.path("base.gguf"));
    const pairs = initLora(weights.config, LORA, 2, 0.3);
    exportLoraGguf(tmp.path("adapter.gguf"), weights.config, LORA, pairs);
    writeMergedGguf(tmp.path("merged.gguf"), weights, mergeLora(weights, LORA, pairs));
    const adapted = await RolloutEngine.load({ modelPath: tmp.path("base.gguf"), adapter: { path: tmp.path("adapter.gguf") } });
    const merged = await RolloutEngine.load({ modelPath: tmp.path("merged.gguf") });
    const base = await RolloutEngine.load({ modelPath: tmp.path("base.gguf") });
    try {
      const tokens = base.tokenize("The quick brown fox");
      const [a, m, b] = [await adapted.nextTokenLogProbs(tokens, weights.config.vocab), await merged.nextTokenLogProbs(tokens, weights.config.vocab), await base.nextTokenLogProbs(tokens, weights.config.vocab)];
      const maxDiff = (x: Float64Array, y: Float64Array): number => Math.max(...x.map((v, i) => Math.abs(v - y[i]!)));
      expect(maxDiff(a, m)).toBeLessThan(1e-4);
      expect(maxDiff(a, b)).toBeGreaterThan(0.1);
    } finally {
      await Promise.all([adapted.dispose(), merged.dispose(), base.dispose()]);
    }
    // The adapter file reads back to the same numbers.
    const back = readLoraGguf(tmp.path("adapter.gguf"));
    expect(back.rank).toBe(4);
    expect(back.alpha).toBe(8);
    expect(back.tensors.map((t) => t.target)).toEqual(pairs.map((p) => p.base));
    back.tensors.forEach((t, i) => {
      expect(t.a).toEqual(pairs[i]!.a);
      expect(t.b).toEqual(pairs[i]!.b);
    });
  });

  it("a PEFT adapter has Hugging Face names and shapes, and llama's q/k rows back in HF order", () => {
    for (const arch of ["llama", "qwen2"] as const) {
      writeTinyModel(tmp.path(`${arch}.gguf`), { arch, seed: 1, heads: 4, kvHeads: 2 });
      const weights = loadLlamaWeights(tmp.path(`${arch}.gguf`));
      const pairs = initLora(weights.config, LORA, 3, 0.1);
      exportPeft(tmp.path(`peft-${arch}`), weights.config, LORA, pairs, `example/${arch}`);
      const config = JSON.parse(readFileSync(tmp.path(`peft-${arch}/adapter_config.json`), "utf8"));
      expect(config).toMatchObject({ peft_type: "LORA", r: 4, lora_alpha: 8, base_model_name_or_path: `example/${arch}` });
      expect(config.target_modules).toEqual(["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
      const { tensors } = readSafetensors(tmp.path(`peft-${arch}/adapter_model.safetensors`));
      const qa = tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")!;
      const qb = tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!;
      const q = pairs.find((p) => p.base === "blk.0.attn_q")!;
      expect(qa.shape).toEqual([4, 64]);
      expect(qb.shape).toEqual([64, 4]);
      expect(qa.data).toEqual(q.a);
      expect(qb.data).toEqual(arch === "llama" ? unpermuteRows(q.b, 4, 4) : q.b);
      const vb = tensors.get("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight")!;
      expect(vb.data).toEqual(pairs.find((p) => p.base === "blk.1.attn_v")!.b);
    }
  });

  it("un-permuting inverts llama.cpp's converter permutation", () => {
    // convert_hf_to_gguf: w.reshape(heads, 2, D/2, …).swapaxes(1, 2): GGUF row h·D + 2i + j ← HF row h·D + j·D/2 + i.
    const heads = 2, d = 8, rank = 3;
    const hf = Float32Array.from({ length: heads * d * rank }, (_, i) => i);
    const gguf = new Float32Array(hf.length);
    for (let h = 0; h < heads; h++) for (let j = 0; j < 2; j++) for (let i = 0; i < d / 2; i++) {
      gguf.set(hf.subarray((h * d + j * (d / 2) + i) * rank, (h * d + j * (d / 2) + i + 1) * rank), (h * d + 2 * i + j) * rank);
    }
    expect(unpermuteRows(gguf, heads, rank)).toEqual(hf);
  });
});

describe("checkpoints", () => {
  it("restore bit-exactly: a resumed run continues exactly as the uninterrupted one", async () => {
    writeTinyModel(tmp.path("ck.gguf"), { arch: "qwen3", seed: 9, vocab: "bytes" });
    const weights = loadLlamaWeights(tmp.path("ck.gguf"));
    const mode = { kind: "lora" as const, lora: LORA, seed: 4 };
    const objective = { kind: "grpo" as const, policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean" as const, klCoef: 0 } };
    const data = [{ tokens: [1, 2, 3, 4, 5, 6], completionStart: 3 }, { tokens: [7, 8, 9, 10], completionStart: 2 }];
    const signals = { advantages: [0.8, -0.8] };
    const a = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 } });
    for (let s = 0; s < 3; s++) await a.update(data, signals);
    saveCheckpoint(tmp.path("ckpt"), a.engine, { seed: 123, note: "after 3" });
    saveCheckpoint(tmp.path("ckpt"), a.engine, { seed: 123, note: "after 3" }); // replacing one is safe too
    for (let s = 0; s < 2; s++) await a.update(data, signals);

    const b = await PolicyModel.create(weights, mode, objective, { hyper: { lr: 1e-2 } });
    const meta = loadCheckpoint<{ seed: number; note: string }>(tmp.path("ckpt"), b.engine);
    expect(meta).toMatchObject({ step: 3, extra: { seed: 123, note: "after 3" } });
    expect(b.step).toBe(3);
    for (let s = 0; s < 2; s++) await b.update(data, signals);
    expect(b.trainables()).toEqual(a.trainables());
    expect(b.engine.state().slots.map((s) => s.m)).toEqual(a.engine.state().slots.map((s) => s.m));
    await Promise.all([a.dispose(), b.dispose()]);
    expect(() => loadCheckpoint(tmp.path("nope"), b.engine)).toThrow(/nope\/checkpoint.json: cannot read/);
  });
});
