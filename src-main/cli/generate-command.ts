// `metis generate`: sample completions from a GGUF model, optionally with a LoRA adapter.
import { DEFAULT_PARALLEL, RolloutEngine } from "../rollout/rollout-engine.js";
import { rolloutThreadsFor } from "../util/threads.js";
import { resolveSampling } from "../rollout/sampling.js";
import { flag, int, list, num, parseCommand, str, type CommandSpec } from "./options.js";

const SAMPLING = resolveSampling();

export const GENERATE_COMMAND = {
  name: "generate",
  summary: "sample completions from a model, optionally with a LoRA adapter",
  options: {
    model: str("FILE", "GGUF model", { required: true }),
    prompt: str("TEXT", "the prompt", { required: true }),
    n: int("N", "completions to sample", { short: "n", default: 1, min: 1, max: 1024 }),
    lora: str("FILE", "LoRA adapter (GGUF) to apply"),
    // Shorter than the sampler's own default: a quick look, not a full rollout.
    "max-tokens": int("N", "most tokens per completion", { default: 64, min: 1, max: 32768 }),
    temperature: num("T", "softmax temperature; 0 is greedy", { default: SAMPLING.temperature, min: 0, max: 10 }),
    "top-p": num("P", "nucleus mass kept; 1 keeps everything", { default: SAMPLING.topP, min: 0, max: 1 }),
    "top-k": int("K", "keep only the K most likely tokens; 0 disables", { default: SAMPLING.topK, min: 0 }),
    stop: list("S", "stop when the text contains S (repeatable)"),
    seed: int("N", "sampling seed", { default: SAMPLING.seed, min: 0, max: 0xffffffff }),
    threads: int("N", "llama.cpp threads per context (default: the cores shared among 8 contexts)", { default: rolloutThreadsFor(DEFAULT_PARALLEL), min: 1, max: 256 }),
    json: flag("print {completions: [{text, tokens, finishReason}], tokensPerSecond} as JSON"),
  },
} satisfies CommandSpec;

/** What `metis generate --json` prints. */
export interface GenerateOutput {
  completions: { text: string; tokens: number[]; finishReason: string }[];
  tokensPerSecond: number;
}

/** Run `metis generate`; returns the text to print. */
export async function generateCommand(argv: string[]): Promise<string> {
  const { values } = parseCommand(GENERATE_COMMAND, argv);
  const sampling = { maxTokens: values["max-tokens"], temperature: values.temperature, topP: values["top-p"], topK: values["top-k"], stop: values.stop, seed: values.seed };
  const engine = await RolloutEngine.load({ modelPath: values.model, threads: values.threads, adapter: values.lora ? { path: values.lora } : null });
  try {
    const batch = await engine.generate([values.prompt], values.n, sampling);
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
