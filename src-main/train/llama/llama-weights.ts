// The weights of a llama-family GGUF, held once per process: matrices compactly (float16) unless
// asked otherwise, vectors (norms, biases, RoPE factors) as float32, checked against the
// parameter table. Training graphs take them as inputs fed from these buffers, so every ONNX
// session of a model shares this one copy.
import { GgufError } from "../../gguf/errors.js";
import { GgmlType } from "../../gguf/constants.js";
import { floatToHalf, halfToFloat } from "../../gguf/half.js";
import { readGguf, readTensorBytes, type GgufFile } from "../../gguf/reader.js";
import { readTensorF32 } from "../../gguf/tensors.js";
import { readLlamaConfig, type LlamaConfig } from "./llama-config.js";
import { paramTable, type ParamRow } from "./param-table.js";

/** A tensor as held: float32 values, or IEEE binary16 bits (cast to float32 inside the graph). */
export type HeldTensor = { dtype: "float32"; data: Float32Array } | { dtype: "float16"; data: Uint16Array };

/**
 * How matrices are held. "auto": a matrix stored as F32 stays float32 (exact); any other type
 * (F16 exactly; BF16 and quantized types rounded to the nearest binary16, a relative error of at
 * most 2⁻¹¹ per weight) is held as float16, half the bytes. "float16": every matrix as float16,
 * F32 ones rounded too. "float32": everything as float32.
 */
export type WeightHolding = "auto" | "float16" | "float32";

/** A model ready to become a training graph. */
export interface LlamaWeights {
  path: string;
  config: LlamaConfig;
  rows: ParamRow[];
  /** Row-major values by tensor name, as held. */
  held: Map<string, HeldTensor>;
}

/** Read every tensor of a llama / qwen2 / qwen3 GGUF, matrices held as `holding` says. */
export function loadLlamaWeights(path: string, file: GgufFile = readGguf(path), holding: WeightHolding = "auto"): LlamaWeights {
  const config = readLlamaConfig(file);
  const rows = paramTable(config);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const held = new Map<string, HeldTensor>();
  for (const row of rows) {
    const info = byName.get(row.name);
    if (!info) throw new GgufError(path, `missing tensor ${row.name} that a ${config.arch} model needs`);
    const rowMajor = [...info.dims].reverse();
    const expected = row.shape;
    // GGUF may drop trailing 1s; compare element counts and the non-trivial dims.
    if (rowMajor.filter((d) => d !== 1).join() !== expected.filter((d) => d !== 1).join()) {
      throw new GgufError(path, `tensor ${row.name}: expected shape [${expected.join(", ")}], found [${rowMajor.join(", ")}]`);
    }
    const compact = row.shape.length === 2 && (holding === "float16" || (holding === "auto" && info.type !== GgmlType.F32));
    if (!compact) held.set(row.name, { dtype: "float32", data: readTensorF32(file, row.name) });
    else if (info.type === GgmlType.F16) {
      // GGUF F16 is little-endian binary16 in row-major order: the bytes are the held form.
      const bytes = readTensorBytes(file, info);
      held.set(row.name, { dtype: "float16", data: new Uint16Array(bytes.buffer, bytes.byteOffset, info.elements) });
    } else {
      const values = readTensorF32(file, row.name);
      const half = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) half[i] = floatToHalf(values[i]!);
      held.set(row.name, { dtype: "float16", data: half });
    }
  }
  return { path, config, rows, held };
}

/** Tensor `name` as float32 values: the held array itself when held as float32, else a widened copy. */
export function weightF32(weights: LlamaWeights, name: string): Float32Array {
  const t = weights.held.get(name);
  if (!t) throw new Error(`${weights.path}: no tensor ${name}`);
  if (t.dtype === "float32") return t.data;
  return Float32Array.from(t.data, halfToFloat);
}

/** Every tensor as float32 (copies of the compactly held ones): for exports and full-parameter training. */
export function weightsF32(weights: LlamaWeights): Map<string, Float32Array> {
  return new Map(weights.rows.map((r) => [r.name, weightF32(weights, r.name)]));
}

/** Bytes the held weights take. */
export function heldBytes(weights: LlamaWeights): number {
  let n = 0;
  for (const t of weights.held.values()) n += t.data.byteLength;
  return n;
}

/** The model's RoPE frequency factors, when it has them (a vector: held as float32). */
export function ropeFreqs(weights: LlamaWeights): Float32Array | null {
  return weights.held.has("rope_freqs.weight") ? weightF32(weights, "rope_freqs.weight") : null;
}
