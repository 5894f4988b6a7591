// `metis check-equivalence`: llama.cpp's next-token log-probs against the ONNX training graph's.
import { readLoraGguf } from "../model/lora-file.js";
import { checkEquivalence } from "../train/llama/equivalence.js";
import type { LoraTarget } from "../train/llama/param-table.js";
import { flag, parseCommand, str, type CommandSpec } from "./options.js";

export const CHECK_EQUIVALENCE_COMMAND = {
  name: "check-equivalence",
  summary: "compare llama.cpp's next-token log-probs with the training graph's over fixed prompts",
  options: {
    model: str("FILE", "GGUF model", { required: true }),
    lora: str("FILE", "LoRA adapter (GGUF) applied on both sides"),
    json: flag("print {maxAbsDiff, prompts} as JSON"),
  },
} satisfies CommandSpec;

/** Run `metis check-equivalence`; returns the text to print. */
export async function checkEquivalenceCommand(argv: string[]): Promise<string> {
  const { values } = parseCommand(CHECK_EQUIVALENCE_COMMAND, argv);
  const modelPath = values.model;
  let adapter = null;
  if (values.lora) {
    const file = readLoraGguf(values.lora);
    const pairs = file.tensors.map((t) => ({ base: t.target, nIn: t.nIn, nOut: t.nOut, a: t.a, b: t.b }));
    // Targets only matter for validation when building adapters; the graph looks pairs up by name.
    adapter = { path: values.lora, config: { rank: file.rank, alpha: file.alpha, targets: [] as LoraTarget[] }, pairs };
  }
  const report = await checkEquivalence(modelPath, adapter);
  if (values.json) return JSON.stringify(report);
  const width = Math.max(...report.prompts.map((p) => JSON.stringify(p.prompt).length));
  const lines = report.prompts.map((p) => `${JSON.stringify(p.prompt).padEnd(width)}  ${String(p.tokens).padStart(4)} tokens  max |Δ log p| ${p.maxAbsDiff.toExponential(2)}${p.sameArgmax ? "" : "  (argmax differs)"}`);
  return [...lines, `max |Δ log p| over all prompts and tokens: ${report.maxAbsDiff.toExponential(2)}`].join("\n");
}
