// The headless CLI: `metis <command> ...`. Each command declares its options once (options.ts) and
// is a function from argv to printed text.
import { GgufError } from "../gguf/errors.js";
import { checkEquivalenceCommand, CHECK_EQUIVALENCE_COMMAND } from "./check-equivalence-command.js";
import { evalCommand, EVAL_COMMAND } from "./eval-command.js";
import { exportCommand, EXPORT_COMMAND } from "./export-command.js";
import { generateCommand, GENERATE_COMMAND } from "./generate-command.js";
import { infoCommand, INFO_COMMAND } from "./info-command.js";
import { makeModelCommand, MAKE_MODEL_COMMAND } from "./make-model-command.js";
import { commandHelp, usageLine, type CommandSpec } from "./options.js";
import { pretrainCommand, PRETRAIN_COMMAND } from "./pretrain-command.js";
import { scoreCommand, SCORE_COMMAND } from "./score-command.js";
import { serveCommand, SERVE_COMMAND } from "./serve-command.js";
import { trainCommand, TRAIN_COMMAND } from "./train-command.js";
import { UsageError } from "./usage-error.js";

interface Command {
  spec: CommandSpec;
  run: (argv: string[]) => string | Promise<string>;
}

/** Every command, in the order `metis --help` lists them. */
export const COMMANDS: readonly Command[] = [
  { spec: INFO_COMMAND, run: infoCommand },
  { spec: GENERATE_COMMAND, run: generateCommand },
  { spec: MAKE_MODEL_COMMAND, run: makeModelCommand },
  { spec: CHECK_EQUIVALENCE_COMMAND, run: checkEquivalenceCommand },
  { spec: TRAIN_COMMAND, run: trainCommand },
  { spec: EVAL_COMMAND, run: evalCommand },
  { spec: EXPORT_COMMAND, run: exportCommand },
  { spec: SCORE_COMMAND, run: scoreCommand },
  { spec: PRETRAIN_COMMAND, run: pretrainCommand },
  { spec: SERVE_COMMAND, run: serveCommand },
];

/** Overall usage text: one line per command. */
export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length));
  const lines = COMMANDS.map(({ spec }) => `  ${spec.name.padEnd(width)}  ${spec.summary}`);
  return ["usage: metis <command> [options]", "", "commands:", ...lines, "", "Run `metis <command> --help` for a command's options and their defaults."].join("\n");
}

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const [name, ...rest] = argv;
  const helpFor = name === "help" ? COMMANDS.find((c) => c.spec.name === rest[0]) : undefined;
  if (helpFor) {
    out(commandHelp(helpFor.spec));
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) {
    err(`metis: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    out(commandHelp(command.spec));
    return 0;
  }
  try {
    out(await command.run(rest));
    return 0;
  } catch (e) {
    const error = e as Error & { code?: string };
    // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    if (error instanceof UsageError || error.code?.startsWith("ERR_PARSE_ARGS")) {
      err(`metis ${name}: ${error.message}\nusage: ${usageLine(command.spec)}\nRun \`metis ${name} --help\` for what each option does.`);
      return 2;
    }
    err(`metis ${name}: ${error instanceof GgufError ? error.message : (error.message ?? String(e))}`);
    if (process.env.METIS_DEBUG) err(error.stack ?? "");
    return 1;
  }
}
