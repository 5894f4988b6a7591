// `metis info FILE`: what a GGUF file holds.
import { readModelInfo, type ModelInfo } from "../model/model-info.js";
import { flag, parseCommand, type CommandSpec } from "./options.js";
import { UsageError } from "./usage-error.js";

export const INFO_COMMAND = {
  name: "info",
  summary: "describe a GGUF model or adapter: architecture, parameters, tokenizer, tensor types, context",
  positionals: "FILE",
  options: { json: flag("print the description as JSON") },
} satisfies CommandSpec;

/** Run `metis info`; returns the text to print. */
export function infoCommand(argv: string[]): string {
  const { values, positionals } = parseCommand(INFO_COMMAND, argv);
  if (positionals.length !== 1) throw new UsageError(`expected one file, found ${positionals.length}`);
  const info = readModelInfo(positionals[0]!);
  return values.json ? JSON.stringify(info, null, 2) : formatInfo(info);
}

/** Human-readable summary, one fact per line. */
export function formatInfo(info: ModelInfo): string {
  const types = Object.entries(info.tensorTypes).map(([t, n]) => `${t}×${n}`).join(", ");
  const shape = info.layers !== null ? `${info.layers} layers, ${info.embeddingLength} wide, ${info.heads} heads (${info.kvHeads} KV)` : "n/a";
  return [
    `file          ${info.path}`,
    `name          ${info.name ?? "(none)"}`,
    `kind          ${info.kind}`,
    `architecture  ${info.architecture}`,
    `parameters    ${formatCount(info.parameters)} (${info.parameters})`,
    `shape         ${shape}`,
    `context       ${info.contextLength ?? "n/a"}`,
    `tokenizer     ${info.tokenizer.model ?? "none"}${info.tokenizer.pre ? ` / ${info.tokenizer.pre}` : ""}, ${info.tokenizer.vocabSize} tokens`,
    `tensor types  ${types} (mostly ${info.mainType})`,
    `file size     ${(info.fileSize / 2 ** 20).toFixed(2)} MiB`,
  ].join("\n");
}

/** 1234567 → "1.23M". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
