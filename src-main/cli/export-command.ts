// `metis export`: a run's newest whole checkpoint in one of the formats the app offers, written
// where the user says (the export itself is the engine's exportRun).
import { accessSync, constants, existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { exportRun } from "../engine/export-run.js";
import { Commands } from "../protocol/protocol.js";
import { choice, flag, parseCommand, str, type CommandSpec } from "./options.js";

/** The formats the app's Runs screen offers (the protocol's list). */
export const EXPORT_FORMATS = Commands["runs.export"].params.shape.format.options;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_COMMAND = {
  name: "export",
  summary: "export a run's trained adapter: llama.cpp LoRA GGUF, PEFT directory, or merged into a full GGUF",
  options: {
    run: str("RUN_DIR", "the run's directory (as `metis train` prints it)", { required: true }),
    format: choice(EXPORT_FORMATS, "gguf-lora: a LoRA adapter llama.cpp loads; peft: a Hugging Face PEFT directory; merged-gguf: the model with the adapter merged in", { required: true }),
    out: str("PATH", "where to write it: a .gguf file, or a directory for peft", { required: true }),
    json: flag("print {run, format, path, bytes} as JSON"),
  },
} satisfies CommandSpec;

/** The export cannot be written where asked: says where and why, before any work is done. */
export class ExportTargetError extends Error {
  override name = "ExportTargetError";
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot write ${path}: ${reason}`);
  }
}

/** Refuse a target that cannot be written (missing or read-only folder, a file where a directory goes or the reverse). */
export function checkExportTarget(path: string, format: ExportFormat): void {
  const parent = dirname(resolve(path));
  if (!existsSync(parent)) throw new ExportTargetError(path, `the folder ${parent} does not exist`);
  if (!statSync(parent).isDirectory()) throw new ExportTargetError(path, `${parent} is not a folder`);
  const target = existsSync(path) ? statSync(path) : null;
  if (format === "peft" && target?.isFile()) throw new ExportTargetError(path, "it is a file, and a PEFT export is a directory (adapter_config.json, adapter_model.safetensors)");
  if (format !== "peft" && target?.isDirectory()) throw new ExportTargetError(path, `it is a directory; give a file name, e.g. ${join(path, format === "gguf-lora" ? "adapter.gguf" : "merged.gguf")}`);
  try {
    accessSync(target ? path : parent, constants.W_OK);
  } catch {
    throw new ExportTargetError(path, `${target ? path : `the folder ${parent}`} is not writable`);
  }
}

/** Bytes under `path` (a file, or a directory's files). */
function sizeOf(path: string): number {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((n, name) => n + sizeOf(join(path, name)), 0) : s.size;
}

/** Run `metis export`; returns the text to print. */
export async function exportCommand(argv: string[]): Promise<string> {
  const { values } = parseCommand(EXPORT_COMMAND, argv);
  const { run, format, out } = values;
  if (!existsSync(run)) throw new Error(`${run}: no such run directory`);
  checkExportTarget(out, format);
  // Reading the model and merging can take a while on a large model: say what is happening.
  if (!values.json) process.stderr.write(`exporting ${run} as ${format}…\n`);
  const path = await exportRun(run, format, out);
  const bytes = sizeOf(path);
  if (values.json) return JSON.stringify({ run, format, path, bytes });
  return `wrote ${path} (${(bytes / 2 ** 20).toFixed(2)} MiB)`;
}
