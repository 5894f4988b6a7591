// LoRA adapters in llama.cpp's GGUF layout (llama-adapter.cpp): for a target weight W of ggml
// shape [nIn, nOut], tensors "<W>.lora_a" of ggml shape [nIn, r] and "<W>.lora_b" of [r, nOut],
// scaled by alpha / r. In memory these are PEFT's A [r, nIn] and B [nOut, r], row-major.
import { Keys } from "../gguf/constants.js";
import { GgufError } from "../gguf/errors.js";
import { kv, metaNumber, metaString } from "../gguf/metadata.js";
import { readGguf } from "../gguf/reader.js";
import { readTensorF32 } from "../gguf/tensors.js";
import { GgufWriter } from "../gguf/writer.js";

/** One adapted weight: `target` is the tensor base name, e.g. "blk.0.attn_q". */
export interface LoraTensorPair {
  target: string;
  nIn: number;
  nOut: number;
  /** PEFT A, [rank, nIn] row-major. */
  a: Float32Array;
  /** PEFT B, [nOut, rank] row-major. */
  b: Float32Array;
}

/** A LoRA adapter for a model of architecture `arch`. */
export interface LoraAdapter {
  arch: string;
  rank: number;
  alpha: number;
  tensors: LoraTensorPair[];
}

/** Write `adapter` as a llama.cpp GGUF LoRA file (F32). Returns the file size. */
export function writeLoraGguf(path: string, adapter: LoraAdapter): number {
  const w = new GgufWriter(path);
  w.addKv(Keys.general.architecture, kv.str(adapter.arch));
  w.addKv(Keys.general.type, kv.str("adapter"));
  w.addKv(Keys.adapter.type, kv.str("lora"));
  w.addKv(Keys.adapter.loraAlpha, kv.f32(adapter.alpha));
  const r = adapter.rank;
  for (const t of adapter.tensors) {
    if (t.a.length !== r * t.nIn || t.b.length !== t.nOut * r) {
      throw new GgufError(path, `LoRA ${t.target}: expected A ${r}×${t.nIn} and B ${t.nOut}×${r}, found ${t.a.length} and ${t.b.length} values`);
    }
    w.addTensor(`${t.target}.weight.lora_a`, [t.nIn, r], t.a);
    w.addTensor(`${t.target}.weight.lora_b`, [r, t.nOut], t.b);
  }
  return w.write();
}

/** Read a llama.cpp LoRA adapter GGUF back (F32, F16 or quantized tensors are dequantized). */
export function readLoraGguf(path: string): LoraAdapter {
  const file = readGguf(path);
  if (metaString(file, Keys.general.type, "adapter") !== "adapter" || metaString(file, Keys.adapter.type, "lora") !== "lora") {
    throw new GgufError(path, "not a LoRA adapter (general.type must be \"adapter\" and adapter.type \"lora\")");
  }
  const arch = metaString(file, Keys.general.architecture);
  const alpha = metaNumber(file, Keys.adapter.loraAlpha, 0);
  const tensors: LoraTensorPair[] = [];
  let rank = 0;
  for (const t of file.tensors) {
    const m = /^(.*)\.weight\.lora_a$/.exec(t.name);
    if (!m) continue;
    const target = m[1]!;
    const bInfo = file.tensors.find((x) => x.name === `${target}.weight.lora_b`);
    if (!bInfo) throw new GgufError(path, `${t.name} has no matching ${target}.weight.lora_b`);
    const [nIn, r] = t.dims as [number, number];
    const [rB, nOut] = bInfo.dims as [number, number];
    if (r !== rB || (rank !== 0 && r !== rank)) throw new GgufError(path, `${target}: LoRA ranks differ (${r} vs ${rB}${rank ? `, adapter rank ${rank}` : ""})`);
    rank = r;
    tensors.push({ target, nIn, nOut, a: readTensorF32(file, t.name), b: readTensorF32(file, bInfo.name) });
  }
  if (tensors.length === 0) throw new GgufError(path, "the adapter has no lora_a/lora_b tensor pairs");
  return { arch, rank, alpha: alpha || rank, tensors };
}
