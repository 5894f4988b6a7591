// The float32 weights of a llama-family GGUF, dequantized once, checked against the parameter table.
import { GgufError } from "../../gguf/errors.js";
import { readGguf, type GgufFile } from "../../gguf/reader.js";
import { readTensorF32 } from "../../gguf/tensors.js";
import { readLlamaConfig, type LlamaConfig } from "./llama-config.js";
import { paramTable, type ParamRow } from "./param-table.js";

/** A model ready to become a training graph. */
export interface LlamaWeights {
  path: string;
  config: LlamaConfig;
  rows: ParamRow[];
  /** Row-major float32 values by tensor name. */
  tensors: Map<string, Float32Array>;
}

/** Read and dequantize every tensor of a llama / qwen2 / qwen3 GGUF. */
export function loadLlamaWeights(path: string, file: GgufFile = readGguf(path)): LlamaWeights {
  const config = readLlamaConfig(file);
  const rows = paramTable(config);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const tensors = new Map<string, Float32Array>();
  for (const row of rows) {
    const info = byName.get(row.name);
    if (!info) throw new GgufError(path, `missing tensor ${row.name} that a ${config.arch} model needs`);
    const rowMajor = [...info.dims].reverse();
    const expected = row.shape;
    // GGUF may drop trailing 1s; compare element counts and the non-trivial dims.
    if (rowMajor.filter((d) => d !== 1).join() !== expected.filter((d) => d !== 1).join()) {
      throw new GgufError(path, `tensor ${row.name}: expected shape [${expected.join(", ")}], found [${rowMajor.join(", ")}]`);
    }
    tensors.set(row.name, readTensorF32(file, row.name));
  }
  return { path, config, rows, tensors };
}
