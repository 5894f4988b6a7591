// A model as named float32 tensors plus metadata, and its GGUF serialization.
import { FileType, GgmlType, Keys } from "../gguf/constants.js";
import { kv } from "../gguf/metadata.js";
import type { GgufKv } from "../gguf/types.js";
import { GgufWriter } from "../gguf/writer.js";

/** One tensor; `dims` in ggml order (dims[0] contiguous). */
export interface ModelTensor {
  name: string;
  dims: number[];
  values: Float32Array;
}

/** Everything needed to write a model file. */
export interface ModelDescription {
  metadata: Map<string, GgufKv>;
  tensors: ModelTensor[];
}

/** Weight storage types the writer offers for full models. */
export const WEIGHT_TYPES = ["F32", "F16", "Q8_0", "Q4_K"] as const;
export type WeightType = (typeof WEIGHT_TYPES)[number];

const FILE_TYPE: Record<WeightType, number> = { F32: FileType.ALL_F32, F16: FileType.MOSTLY_F16, Q8_0: FileType.MOSTLY_Q8_0, Q4_K: FileType.MOSTLY_Q4_K_M };

/**
 * Storage type of one tensor: matrices take `type`; vectors (norms, biases) stay F32 as
 * llama.cpp's own converter keeps them; quantized rows that are not whole blocks (32 values for
 * Q8_0, 256 for Q4_K) fall back to Q8_0 where they can, else F16, as llama-quantize does.
 */
export function tensorStorageType(t: ModelTensor, type: WeightType): number {
  if (t.dims.length < 2 || type === "F32") return GgmlType.F32;
  if (type === "Q4_K" && t.dims[0]! % 256 === 0) return GgmlType.Q4_K;
  if ((type === "Q8_0" || type === "Q4_K") && t.dims[0]! % 32 === 0) return GgmlType.Q8_0;
  return GgmlType.F16;
}

/** Write `model` as a GGUF file with matrices stored as `type`. Returns the file size. */
export function writeModelGguf(path: string, model: ModelDescription, type: WeightType = "F32"): number {
  const w = new GgufWriter(path);
  for (const [key, value] of model.metadata) {
    if (key !== Keys.general.fileType) w.addKv(key, value);
  }
  w.addKv(Keys.general.fileType, kv.u32(FILE_TYPE[type]));
  for (const t of model.tensors) w.addTensor(t.name, t.dims, t.values, tensorStorageType(t, type));
  return w.write();
}
