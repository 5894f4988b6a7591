// `metis make-model`: a random-weight model of a supported architecture, for tests and benchmarks.
import { parseArgs } from "node:util";
import { SUPPORTED_ARCHS } from "../gguf/constants.js";
import { WEIGHT_TYPES, writeModelGguf } from "../model/model-file.js";
import { DEFAULT_TINY_SPEC, makeTinyModel, resolveTinySpec } from "../model/tiny-model.js";
import { VOCAB_KINDS } from "../model/vocab.js";
import { choiceOption, numberOption, requiredOption } from "./usage-error.js";

export const MAKE_MODEL_USAGE = `metis make-model --arch ${SUPPORTED_ARCHS.join("|")} --out FILE [--layers N] [--dim N] [--heads N] [--kv-heads N] [--ffn N] [--head-dim N] [--vocab ${VOCAB_KINDS.join("|")}] [--tied] [--type ${WEIGHT_TYPES.join("|")}] [--context N] [--seed N] [--json]`;

/** Run `metis make-model`; returns the text to print. */
export function makeModelCommand(argv: string[]): string {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      arch: { type: "string" },
      out: { type: "string" },
      layers: { type: "string" },
      dim: { type: "string" },
      heads: { type: "string" },
      "kv-heads": { type: "string" },
      ffn: { type: "string" },
      "head-dim": { type: "string" },
      vocab: { type: "string" },
      tied: { type: "boolean", default: false },
      type: { type: "string" },
      context: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const d = DEFAULT_TINY_SPEC;
  const int = { integer: true, min: 1, max: 65536 };
  const headDim = values["head-dim"] === undefined ? {} : { headDim: numberOption("head-dim", values["head-dim"], 0, int) };
  const spec = resolveTinySpec({
    arch: choiceOption("arch", requiredOption("arch", values.arch), SUPPORTED_ARCHS, "llama"),
    layers: numberOption("layers", values.layers, d.layers, int),
    dim: numberOption("dim", values.dim, d.dim, int),
    heads: numberOption("heads", values.heads, d.heads, int),
    kvHeads: numberOption("kv-heads", values["kv-heads"], d.kvHeads, int),
    ffn: numberOption("ffn", values.ffn, d.ffn, int),
    vocab: choiceOption("vocab", values.vocab, VOCAB_KINDS, d.vocab),
    tiedEmbeddings: values.tied,
    contextLength: numberOption("context", values.context, d.contextLength, int),
    seed: numberOption("seed", values.seed, d.seed, { integer: true, min: 0, max: 0xffffffff }),
    ...headDim,
  });
  const out = requiredOption("out", values.out);
  const type = choiceOption("type", values.type, WEIGHT_TYPES, "F32");
  const model = makeTinyModel(spec);
  const bytes = writeModelGguf(out, model, type);
  const parameters = model.tensors.reduce((n, t) => n + t.values.length, 0);
  if (values.json) return JSON.stringify({ path: out, bytes, parameters, type, spec });
  return `wrote ${out}: ${spec.arch}, ${parameters} parameters, ${type}, ${bytes} bytes`;
}
