// `metis generate`: sample completions from a GGUF model, optionally with a LoRA adapter.
import { parseArgs } from "node:util";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { SamplingSchema } from "../rollout/sampling.js";
import { numberOption, requiredOption } from "./usage-error.js";

export const GENERATE_USAGE =
  "metis generate --model FILE --prompt TEXT [-n N] [--lora FILE] [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--stop S]... [--seed N] [--threads N] [--json]";

/** What `metis generate --json` prints. */
export interface GenerateOutput {
  completions: { text: string; tokens: number[]; finishReason: string }[];
  tokensPerSecond: number;
}

/** Run `metis generate`; returns the text to print. */
export async function generateCommand(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: "string" },
      lora: { type: "string" },
      prompt: { type: "string" },
      n: { type: "string", short: "n" },
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      "top-p": { type: "string" },
      "top-k": { type: "string" },
      stop: { type: "string", multiple: true },
      seed: { type: "string" },
      threads: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const modelPath = requiredOption("model", values.model);
  const prompt = requiredOption("prompt", values.prompt);
  const n = numberOption("n", values.n, 1, { integer: true, min: 1, max: 1024 });
  const defaults = SamplingSchema.parse({});
  const sampling = {
    maxTokens: numberOption("max-tokens", values["max-tokens"], 64, { integer: true, min: 1, max: 32768 }),
    temperature: numberOption("temperature", values.temperature, defaults.temperature, { min: 0, max: 10 }),
    topP: numberOption("top-p", values["top-p"], defaults.topP, { min: 0, max: 1 }),
    topK: numberOption("top-k", values["top-k"], defaults.topK, { integer: true, min: 0 }),
    stop: values.stop ?? [],
    seed: numberOption("seed", values.seed, defaults.seed, { integer: true, min: 0, max: 0xffffffff }),
  };
  const threads = numberOption("threads", values.threads, 1, { integer: true, min: 1, max: 256 });
  const engine = await RolloutEngine.load({ modelPath, threads, adapter: values.lora ? { path: values.lora } : null });
  try {
    const batch = await engine.generate([prompt], n, sampling);
    const output: GenerateOutput = {
      completions: batch.completions[0]!.map((c) => ({ text: c.text, tokens: c.tokens, finishReason: c.finishReason })),
      tokensPerSecond: batch.tokensPerSecond,
    };
    if (values.json) return JSON.stringify(output);
    const blocks = output.completions.map((c, i) => `--- completion ${i + 1} (${c.tokens.length} tokens, ${c.finishReason})\n${c.text}`);
    return [...blocks, `--- ${batch.generatedTokens} tokens in ${batch.wallMs.toFixed(0)} ms (${output.tokensPerSecond.toFixed(0)} tokens/s)`].join("\n");
  } finally {
    await engine.dispose();
  }
}
