// A command's options declared once, as a table (name → kind, placeholder, description, default):
// the same table builds parseArgs' options, parses and checks the values (applying the defaults
// the help shows) and renders `--help`, so the help cannot drift from what the command does.
import { parseArgs } from "node:util";
import { choiceOption, numberOption, requiredOption } from "./usage-error.js";

interface Common {
  description: string;
  short?: string;
  /** What an absent option means when that is worked out at run time (e.g. "dim / heads"); shown as its default. */
  absent?: string;
}
/** A boolean switch, off unless given. */
export interface FlagSpec extends Common {
  kind: "flag";
}
/** A text value (a path, a name). */
export interface StringSpec extends Common {
  kind: "string";
  value: string;
  default?: string;
  required?: true;
}
/** A text value that may be given several times. */
export interface ListSpec extends Common {
  kind: "list";
  value: string;
}
/** A number in [min, max], an integer when `integer`. */
export interface NumberSpec extends Common {
  kind: "number";
  value: string;
  integer?: boolean;
  min?: number;
  max?: number;
  default?: number;
  required?: true;
}
/** One of a fixed set of names. */
export interface ChoiceSpec<T extends string = string> extends Common {
  kind: "choice";
  choices: readonly T[];
  default?: T;
  required?: true;
}
export type OptionSpec = FlagSpec | StringSpec | ListSpec | NumberSpec | ChoiceSpec;
export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<O> = O extends FlagSpec ? boolean : O extends ListSpec ? string[] : O extends NumberSpec ? number : O extends ChoiceSpec<infer T> ? T : string;
// Flags and lists always have a value; other options only when they have a default or are required.
type Always<O> = O extends FlagSpec | ListSpec ? true : O extends { default: unknown } | { required: true } ? true : false;
/** The parsed values of a table: an option without a default or `required` may be undefined. */
export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T]: Always<T[K]> extends true ? ValueOf<T[K]> : ValueOf<T[K]> | undefined };

type Extra<S> = Omit<S, "kind" | "value" | "description" | "choices">;

/** A boolean switch. */
export function flag(description: string, extra: Pick<FlagSpec, "short"> = {}): FlagSpec {
  return { kind: "flag", description, ...extra };
}
/** A text option shown as `--name VALUE`. */
export function str<const E extends Extra<StringSpec>>(value: string, description: string, extra: E = {} as E): { kind: "string"; value: string; description: string } & E {
  return { kind: "string", value, description, ...extra };
}
/** A text option that may repeat. */
export function list(value: string, description: string): ListSpec {
  return { kind: "list", value, description };
}
/** A number option. */
export function num<const E extends Extra<NumberSpec>>(value: string, description: string, extra: E = {} as E): { kind: "number"; value: string; description: string } & E {
  return { kind: "number", value, description, ...extra };
}
/** An integer option. */
export function int<const E extends Extra<NumberSpec>>(value: string, description: string, extra: E = {} as E): { kind: "number"; value: string; description: string; integer: true } & E {
  return { kind: "number", value, description, integer: true, ...extra };
}
/** An option restricted to `choices`. */
export function choice<T extends string, const E extends Extra<ChoiceSpec<T>>>(choices: readonly T[], description: string, extra: E = {} as E): { kind: "choice"; choices: readonly T[]; description: string } & E {
  return { kind: "choice", choices, description, ...extra };
}

/** What a command declares: its name, a one-line summary, positional arguments and options. */
export interface CommandSpec<T extends OptionTable = OptionTable> {
  name: string;
  summary: string;
  /** Positional arguments as shown in the usage line (e.g. "FILE"); none when absent. */
  positionals?: string;
  options: T;
}

/** Parsed arguments: values with defaults applied, and which options were given explicitly. */
export interface Parsed<T extends OptionTable> {
  values: OptionValues<T>;
  given: ReadonlySet<keyof T & string>;
  positionals: string[];
}

/** Parse `argv` against a command's table: unknown options, bad numbers and choices, and missing required options throw usage errors. */
export function parseCommand<T extends OptionTable>(spec: CommandSpec<T>, argv: string[]): Parsed<T> {
  const config = Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [name, { type: o.kind === "flag" ? ("boolean" as const) : ("string" as const), multiple: o.kind === "list", ...(o.short ? { short: o.short } : {}) }]),
  );
  const parsed = parseArgs({ args: argv, options: config, strict: true, allowPositionals: spec.positionals !== undefined });
  const raw = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const values: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const given = raw[name];
    if (o.kind === "flag") values[name] = given === true;
    else if (o.kind === "list") values[name] = (given as string[] | undefined) ?? [];
    else {
      const text = o.required ? requiredOption(name, given as string | undefined) : (given as string | undefined);
      if (o.kind === "string") values[name] = text ?? o.default;
      else if (o.kind === "number") values[name] = text === undefined ? o.default : numberOption(name, text, Number.NaN, o);
      else values[name] = text === undefined ? o.default : choiceOption(name, text, o.choices, o.choices[0]!);
    }
  }
  const given = new Set(Object.keys(spec.options).filter((name) => raw[name] !== undefined)) as Set<keyof T & string>;
  return { values: values as OptionValues<T>, given, positionals: parsed.positionals };
}

// Choice lists longer than this are named by a placeholder and listed in the description instead.
const INLINE_CHOICES = 30;
// Help descriptions start at most this far in, so one long option does not push every line right.
const MAX_LEFT = 36;

/** `--name`, or `-n` for a one-letter option. */
function flagName(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

function inlineChoices(o: ChoiceSpec): boolean {
  return o.choices.join("|").length <= INLINE_CHOICES;
}

/** How an option's value is written in the help: `N`, `FILE`, `a|b|c`. */
function placeholder(o: OptionSpec): string | null {
  if (o.kind === "flag") return null;
  if (o.kind === "choice") return inlineChoices(o) ? o.choices.join("|") : "NAME";
  return o.value;
}

/** An option's default as the help shows it. */
export function formatDefault(o: OptionSpec): string {
  if (o.kind === "flag") return "off";
  if (o.kind === "list") return "none";
  if (o.required) return "required";
  return o.default === undefined ? (o.absent ?? "none") : String(o.default);
}

/** The usage line: required options spelled out, the others in brackets. */
export function usageLine(spec: CommandSpec): string {
  const parts = Object.entries(spec.options).map(([name, o]) => {
    const value = o.kind === "choice" ? o.choices.join("|") : placeholder(o);
    const text = `${flagName(name)}${value === null ? "" : ` ${value}`}${o.kind === "list" ? "..." : ""}`;
    return o.kind !== "flag" && o.kind !== "list" && o.required ? text : `[${text}]`;
  });
  return ["metis", spec.name, ...(spec.positionals ? [spec.positionals] : []), ...parts].join(" ");
}

/** `metis <command> --help`: the usage line, the summary, then one line per option with its description and default. */
export function commandHelp(spec: CommandSpec): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const value = placeholder(o);
    const left = `${o.short && o.short !== name ? `-${o.short}, ` : ""}${flagName(name)}${value === null ? "" : ` ${value}`}`;
    const choices = o.kind === "choice" && !inlineChoices(o) ? `; one of ${o.choices.join(", ")}` : "";
    const shown = formatDefault(o);
    return [left, `${o.description}${choices} (${shown === "required" ? shown : `default ${shown}`})`];
  });
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([left]) => left.length).filter((n) => n <= MAX_LEFT));
  return [`usage: ${usageLine(spec)}`, "", spec.summary, "", "options:", ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)].join("\n");
}
