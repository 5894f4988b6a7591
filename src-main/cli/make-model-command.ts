// `metis make-model`: a random-weight model of a supported architecture, for tests and benchmarks.
import { SUPPORTED_ARCHS } from "../gguf/constants.js";
import { WEIGHT_TYPES, writeModelGguf } from "../model/model-file.js";
import { DEFAULT_TINY_SPEC, makeTinyModel, resolveTinySpec } from "../model/tiny-model.js";
import { VOCAB_KINDS } from "../model/vocab.js";
import { choice, flag, int, parseCommand, str, type CommandSpec } from "./options.js";

const d = DEFAULT_TINY_SPEC;
const size = { min: 1, max: 65536 };

export const MAKE_MODEL_COMMAND = {
  name: "make-model",
  summary: "write a random-weight model of a supported architecture, with a tokenizer llama.cpp loads",
  options: {
    arch: choice(SUPPORTED_ARCHS, "architecture", { required: true }),
    out: str("FILE", "where to write the GGUF model", { required: true }),
    layers: int("N", "transformer blocks", { default: d.layers, ...size }),
    dim: int("N", "embedding width", { default: d.dim, ...size }),
    heads: int("N", "attention heads", { default: d.heads, ...size }),
    "kv-heads": int("N", "key/value heads (grouped-query attention)", { default: d.kvHeads, ...size }),
    ffn: int("N", "feed-forward width", { default: d.ffn, ...size }),
    "head-dim": int("N", "width of one head", { absent: "dim / heads", ...size }),
    vocab: choice(VOCAB_KINDS, "tokenizer vocabulary", { default: d.vocab }),
    tied: flag("tie the output projection to the token embeddings"),
    type: choice(WEIGHT_TYPES, "weight type", { default: "F32" }),
    context: int("N", "context length", { default: d.contextLength, ...size }),
    seed: int("N", "seed of the random weights", { default: d.seed, min: 0, max: 0xffffffff }),
    json: flag("print {path, bytes, parameters, type, spec} as JSON"),
  },
} satisfies CommandSpec;

/** Run `metis make-model`; returns the text to print. */
export function makeModelCommand(argv: string[]): string {
  const { values } = parseCommand(MAKE_MODEL_COMMAND, argv);
  const spec = resolveTinySpec({
    arch: values.arch,
    layers: values.layers,
    dim: values.dim,
    heads: values.heads,
    kvHeads: values["kv-heads"],
    ffn: values.ffn,
    vocab: values.vocab,
    tiedEmbeddings: values.tied,
    contextLength: values.context,
    seed: values.seed,
    ...(values["head-dim"] === undefined ? {} : { headDim: values["head-dim"] }),
  });
  const { out, type } = values;
  const model = makeTinyModel(spec);
  const bytes = writeModelGguf(out, model, type);
  const parameters = model.tensors.reduce((n, t) => n + t.values.length, 0);
  if (values.json) return JSON.stringify({ path: out, bytes, parameters, type, spec });
  return `wrote ${out}: ${spec.arch}, ${parameters} parameters, ${type}, ${bytes} bytes`;
}
