// Exports of a trained policy: a llama.cpp LoRA adapter GGUF, a PEFT adapter directory
// (adapter_config.json + adapter_model.safetensors), and a full GGUF with the adapter merged in.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Keys } from "../../gguf/constants.js";
import { readGguf } from "../../gguf/reader.js";
import { writeLoraGguf } from "../../model/lora-file.js";
import { writeModelGguf, type WeightType } from "../../model/model-file.js";
import { writeSafetensors, type F32Tensor } from "../../util/safetensors.js";
import type { LlamaConfig } from "./llama-config.js";
import { weightsF32, type LlamaWeights } from "./llama-weights.js";
import { toLoraAdapter, type LoraConfig, type LoraPair } from "./lora.js";

/** Write the adapter as llama.cpp loads it. */
export function exportLoraGguf(path: string, config: LlamaConfig, lora: LoraConfig, pairs: readonly LoraPair[]): void {
  writeLoraGguf(path, toLoraAdapter(config, lora, pairs));
}

/** Hugging Face module paths of the GGUF projections (transformers' Llama/Qwen2/Qwen3 naming). */
const HF_MODULE: Record<string, string> = {
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_output: "self_attn.o_proj",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
};

/**
 * llama.cpp's converter permutes the rows of llama's q and k weights (per head, interleaving the
 * two rotary halves) so that its adjacent-pair RoPE matches Hugging Face's rotate-half. An
 * adapter's B rows live in the GGUF order; this maps them back: HF row h·D + j·D/2 + i holds GGUF
 * row h·D + 2i + j.
 */
export function unpermuteRows(b: Float32Array, heads: number, rank: number): Float32Array {
  const rows = b.length / rank;
  const d = rows / heads;
  const out = new Float32Array(b.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const hf = h * d + j * (d / 2) + i;
        const gg = h * d + 2 * i + j;
        out.set(b.subarray(gg * rank, (gg + 1) * rank), hf * rank);
      }
    }
  }
  return out;
}

/** Write a PEFT adapter directory loadable by peft.PeftModel.from_pretrained over the HF base model. */
export function exportPeft(dir: string, config: LlamaConfig, lora: LoraConfig, pairs: readonly LoraPair[], baseModel: string): void {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, F32Tensor>();
  const modules = new Set<string>();
  for (const p of pairs) {
    const m = /^blk\.(\d+)\.(\w+)$/.exec(p.base);
    if (!m || !HF_MODULE[m[2]!]) throw new Error(`cannot name ${p.base} in Hugging Face terms`);
    const module = HF_MODULE[m[2]!]!;
    modules.add(module.split(".")[1]!);
    let b = p.b;
    if (config.ropeStyle === "norm" && (m[2] === "attn_q" || m[2] === "attn_k")) b = unpermuteRows(b, m[2] === "attn_q" ? config.heads : config.kvHeads, lora.rank);
    const prefix = `base_model.model.model.layers.${m[1]}.${module}`;
    tensors.set(`${prefix}.lora_A.weight`, { shape: [lora.rank, p.nIn], data: p.a });
    tensors.set(`${prefix}.lora_B.weight`, { shape: [p.nOut, lora.rank], data: b });
  }
  writeSafetensors(join(dir, "adapter_model.safetensors"), tensors, { format: "pt" });
  const adapterConfig = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: baseModel,
    r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: 0,
    bias: "none",
    target_modules: [...modules].sort(),
    fan_in_fan_out: false,
    inference_mode: true,
  };
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(adapterConfig, null, 2) + "\n");
}

/** W + (alpha / r) · B · A for each adapted weight, as a new float32 map (float32-held weights shared). */
export function mergeLora(weights: LlamaWeights, lora: LoraConfig, pairs: readonly LoraPair[]): Map<string, Float32Array> {
  const merged = weightsF32(weights);
  const scale = lora.alpha / lora.rank;
  const r = lora.rank;
  for (const p of pairs) {
    const name = `${p.base}.weight`;
    const w = merged.get(name);
    if (!w) throw new Error(`${weights.path}: no tensor ${name} to merge the adapter into`);
    const out = Float32Array.from(w); // [nOut, nIn]
    for (let o = 0; o < p.nOut; o++) {
      for (let k = 0; k < r; k++) {
        const bok = scale * p.b[o * r + k]!;
        if (bok === 0) continue;
        const aRow = k * p.nIn;
        const wRow = o * p.nIn;
        for (let i = 0; i < p.nIn; i++) out[wRow + i]! += bok * p.a[aRow + i]!;
      }
    }
    merged.set(name, out);
  }
  return merged;
}

/** Write a full GGUF: the base file's metadata with `tensors` (row-major) stored as `type`. */
export function writeMergedGguf(path: string, weights: LlamaWeights, tensors: ReadonlyMap<string, Float32Array>, type: WeightType = "F32"): void {
  const base = readGguf(weights.path);
  const metadata = new Map([...base.metadata].filter(([k]) => k !== Keys.general.fileType));
  writeModelGguf(path, { metadata, tensors: weights.rows.map((r) => ({ name: r.name, dims: [...r.shape].reverse(), values: tensors.get(r.name)! })) }, type);
}
