import { dequantize } from "./dequantize.js";
import { findTensor, readTensorBytes, type GgufFile } from "./reader.js";

/** Read tensor `name` and dequantize it to float32 (ggml order: dims[0] varies fastest). */
export function readTensorF32(file: GgufFile, name: string): Float32Array {
  const info = findTensor(file, name);
  return dequantize(info.type, readTensorBytes(file, info), info.elements, `${file.path}: tensor ${name}`);
}
