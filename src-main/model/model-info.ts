// A summary of a GGUF model for people: what `metis info` prints and the model picker shows.
import { Keys, archKey, ggmlTypeName } from "../gguf/constants.js";
import { metaArray, metaNumber, metaString } from "../gguf/metadata.js";
import { readGguf, type GgufFile } from "../gguf/reader.js";

/** What a user needs to know about a model file. */
export interface ModelInfo {
  path: string;
  name: string | null;
  /** "model" or "adapter" (general.type). */
  kind: string;
  architecture: string;
  parameters: number;
  fileSize: number;
  contextLength: number | null;
  embeddingLength: number | null;
  layers: number | null;
  heads: number | null;
  kvHeads: number | null;
  tokenizer: { model: string | null; pre: string | null; vocabSize: number };
  /** Tensor count by ggml type name, e.g. { F32: 13, Q8_0: 14 }. */
  tensorTypes: Record<string, number>;
  /** The type most of the parameters are stored in. */
  mainType: string;
}

function optionalNumber(file: GgufFile, key: string): number | null {
  return file.metadata.has(key) ? metaNumber(file, key) : null;
}

/** Summarize an already-read GGUF file. */
export function summarizeModel(file: GgufFile): ModelInfo {
  const arch = metaString(file, Keys.general.architecture, "unknown");
  const a = (t: string): string => archKey(t, arch);
  const tensorTypes: Record<string, number> = {};
  const paramsByType: Record<string, number> = {};
  let parameters = 0;
  for (const t of file.tensors) {
    const type = ggmlTypeName(t.type);
    tensorTypes[type] = (tensorTypes[type] ?? 0) + 1;
    paramsByType[type] = (paramsByType[type] ?? 0) + t.elements;
    parameters += t.elements;
  }
  const mainType = Object.entries(paramsByType).sort((x, y) => y[1] - x[1])[0]?.[0] ?? "none";
  return {
    path: file.path,
    name: file.metadata.has(Keys.general.name) ? metaString(file, Keys.general.name) : null,
    kind: metaString(file, Keys.general.type, "model"),
    architecture: arch,
    parameters,
    fileSize: file.fileSize,
    contextLength: optionalNumber(file, a(Keys.llm.contextLength)),
    embeddingLength: optionalNumber(file, a(Keys.llm.embeddingLength)),
    layers: optionalNumber(file, a(Keys.llm.blockCount)),
    heads: optionalNumber(file, a(Keys.attention.headCount)),
    kvHeads: optionalNumber(file, a(Keys.attention.headCountKv)),
    tokenizer: {
      model: file.metadata.has(Keys.tokenizer.model) ? metaString(file, Keys.tokenizer.model) : null,
      pre: file.metadata.has(Keys.tokenizer.pre) ? metaString(file, Keys.tokenizer.pre) : null,
      vocabSize: metaArray(file, Keys.tokenizer.tokens)?.value.length ?? 0,
    },
    tensorTypes,
    mainType,
  };
}

/** Read and summarize the GGUF file at `path`. */
export function readModelInfo(path: string): ModelInfo {
  return summarizeModel(readGguf(path));
}
