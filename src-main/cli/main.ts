// The headless CLI: `metis <command> ...`. Each command is a function from argv to printed text.
import { GgufError } from "../gguf/errors.js";
import { checkEquivalenceCommand, CHECK_EQUIVALENCE_USAGE } from "./check-equivalence-command.js";
import { evalCommand, EVAL_USAGE } from "./eval-command.js";
import { generateCommand, GENERATE_USAGE } from "./generate-command.js";
import { pretrainCommand, PRETRAIN_USAGE } from "./pretrain-command.js";
import { scoreCommand, SCORE_USAGE } from "./score-command.js";
import { serveCommand, SERVE_USAGE } from "./serve-command.js";
import { trainCommand, TRAIN_USAGE } from "./train-command.js";
import { infoCommand, INFO_USAGE } from "./info-command.js";
import { makeModelCommand, MAKE_MODEL_USAGE } from "./make-model-command.js";
import { UsageError } from "./usage-error.js";

const COMMANDS: Record<string, { usage: string; summary: string; run: (argv: string[]) => string | Promise<string> }> = {
  info: { usage: INFO_USAGE, summary: "describe a GGUF model or adapter", run: infoCommand },
  generate: { usage: GENERATE_USAGE, summary: "sample completions from a model", run: generateCommand },
  "make-model": { usage: MAKE_MODEL_USAGE, summary: "write a random-weight model of a supported architecture", run: makeModelCommand },
  serve: { usage: SERVE_USAGE, summary: "the app in a browser (127.0.0.1, per-start token)", run: serveCommand },
  train: { usage: TRAIN_USAGE, summary: "reinforcement fine-tuning with a curriculum (METIS by default)", run: trainCommand },
  score: { usage: SCORE_USAGE, summary: "score a completion with a built-in reward", run: scoreCommand },
  pretrain: { usage: PRETRAIN_USAGE, summary: "train the built-in model on the synthetic task suite", run: pretrainCommand },
  eval: { usage: EVAL_USAGE, summary: "pass rate and mean reward of a model on a dataset", run: evalCommand },
  "check-equivalence": { usage: CHECK_EQUIVALENCE_USAGE, summary: "compare llama.cpp's next-token log-probs with the training graph's", run: checkEquivalenceCommand },
};

/** Overall usage text. */
export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ["usage: metis <command> [options]", "", "commands:", ...lines, "", "Run `metis <command> --help` for a command's options."].join("\n");
}

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(`metis: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    out(`usage: ${command.usage}`);
    return 0;
  }
  try {
    out(await command.run(rest));
    return 0;
  } catch (e) {
    const error = e as Error & { code?: string };
    // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    if (error instanceof UsageError || error.code?.startsWith("ERR_PARSE_ARGS")) {
      err(`metis ${name}: ${error.message}\nusage: ${command.usage}`);
      return 2;
    }
    err(`metis ${name}: ${error instanceof GgufError ? error.message : (error.message ?? String(e))}`);
    if (process.env.METIS_DEBUG) err(error.stack ?? "");
    return 1;
  }
}
