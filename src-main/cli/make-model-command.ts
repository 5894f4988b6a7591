// `metis make-model`: a random-weight model of a supported architecture, for tests and benchmarks.
import { SUPPORTED_ARCHS } from "../gguf/constants.js";
import { WEIGHT_TYPES, writeModelGguf } from "../model/model-file.js";
import { DEFAULT_TINY_SPEC, makeTinyModel, resolveTinySpec } from "../model/tiny-model.js";
import { MODEL_PRESETS, MODEL_PRESET_NAMES } from "../model/model-presets.js";
import { VOCAB_KINDS } from "../model/vocab.js";
import { choice, flag, int, parseCommand, str, type CommandSpec } from "./options.js";
import { UsageError } from "./usage-error.js";

const d = DEFAULT_TINY_SPEC;
const size = { min: 1, max: 65536 };

export const MAKE_MODEL_COMMAND = {
  name: "make-model",
  summary: "write a random-weight model of a supported architecture, with a tokenizer llama.cpp loads",
  options: {
    preset: choice(MODEL_PRESET_NAMES, "a real model's shape and vocabulary size (options given explicitly win)", { absent: "none" }),
    arch: choice(SUPPORTED_ARCHS, "architecture (required without --preset)", { absent: "the preset's" }),
    out: str("FILE", "where to write the GGUF model", { required: true }),
    layers: int("N", "transformer blocks", { default: d.layers, ...size }),
    dim: int("N", "embedding width", { default: d.dim, ...size }),
    heads: int("N", "attention heads", { default: d.heads, ...size }),
    "kv-heads": int("N", "key/value heads (grouped-query attention)", { default: d.kvHeads, ...size }),
    ffn: int("N", "feed-forward width", { default: d.ffn, ...size }),
    "head-dim": int("N", "width of one head", { absent: "dim / heads", ...size }),
    vocab: choice(VOCAB_KINDS, "tokenizer vocabulary", { default: d.vocab }),
    "vocab-size": int("N", "total vocabulary size, merges generated to fill it (bytes vocabulary)", { absent: "256 bytes + specials", min: 1, max: 1_000_000 }),
    "chat-template": flag("carry ChatML's control tokens and chat template (bytes vocabulary)"),
    tied: flag("tie the output projection to the token embeddings"),
    type: choice(WEIGHT_TYPES, "weight type", { default: "F32" }),
    context: int("N", "context length", { default: d.contextLength, ...size }),
    seed: int("N", "seed of the random weights", { default: d.seed, min: 0, max: 0xffffffff }),
    json: flag("print {path, bytes, parameters, type, spec} as JSON"),
  },
} satisfies CommandSpec;

/** Run `metis make-model`; returns the text to print. */
export function makeModelCommand(argv: string[]): string {
  const { values, given } = parseCommand(MAKE_MODEL_COMMAND, argv);
  const preset = values.preset === undefined ? null : MODEL_PRESETS[values.preset];
  const arch = values.arch ?? preset?.arch;
  if (!arch) throw new UsageError("make-model needs --arch or --preset");
  // A preset supplies the shape; an option given explicitly wins over it.
  const pick = <T>(name: keyof typeof values & string, fromPreset: T | undefined, value: T): T => (preset && !given.has(name) && fromPreset !== undefined ? fromPreset : value);
  const spec = resolveTinySpec({
    arch,
    layers: pick("layers", preset?.layers, values.layers),
    dim: pick("dim", preset?.dim, values.dim),
    heads: pick("heads", preset?.heads, values.heads),
    kvHeads: pick("kv-heads", preset?.kvHeads, values["kv-heads"]),
    ffn: pick("ffn", preset?.ffn, values.ffn),
    vocab: pick("vocab", preset?.vocab, values.vocab),
    tiedEmbeddings: pick("tied", preset?.tiedEmbeddings, values.tied),
    contextLength: pick("context", preset?.contextLength, values.context),
    chatTemplate: values["chat-template"] || preset?.chatTemplate === true,
    seed: values.seed,
    ...(preset ? { ropeFreqBase: preset.ropeFreqBase, rmsEps: preset.rmsEps } : {}),
    ...(values["head-dim"] === undefined ? {} : { headDim: values["head-dim"] }),
    ...(values["vocab-size"] !== undefined ? { vocabSize: values["vocab-size"] } : preset ? { vocabSize: preset.vocabSize } : {}),
  });
  const { out, type } = values;
  const model = makeTinyModel(spec);
  const bytes = writeModelGguf(out, model, type);
  const parameters = model.tensors.reduce((n, t) => n + t.values.length, 0);
  if (values.json) return JSON.stringify({ path: out, bytes, parameters, type, spec });
  return `wrote ${out}: ${spec.arch}, ${parameters} parameters, ${type}, ${bytes} bytes`;
}
