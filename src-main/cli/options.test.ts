import { describe, expect, it } from "vitest";
import { choice, commandHelp, flag, int, list, num, parseCommand, str, usageLine } from "./options.js";
import { UsageError } from "./usage-error.js";

const spec = {
  name: "demo",
  summary: "a demo command",
  options: {
    in: str("FILE", "input", { required: true }),
    out: str("FILE", "output", { default: "out.txt" }),
    steps: int("N", "steps", { default: 3, min: 1, max: 10 }),
    rate: num("X", "rate"),
    mode: choice(["fast", "slow"] as const, "mode", { default: "fast" }),
    tag: list("T", "tags"),
    n: int("N", "count", { short: "n", default: 1 }),
    verbose: flag("say more"),
  },
};

describe("option tables", () => {
  it("apply the declared defaults and tell which options were given", () => {
    const { values, given } = parseCommand(spec, ["--in", "a", "--steps", "5", "-n", "2", "--tag", "x", "--tag", "y"]);
    expect(values).toEqual({ in: "a", out: "out.txt", steps: 5, rate: undefined, mode: "fast", tag: ["x", "y"], n: 2, verbose: false });
    expect([...given].sort()).toEqual(["in", "n", "steps", "tag"]);
  });

  it("refuse missing, out-of-range, malformed and unknown values", () => {
    expect(() => parseCommand(spec, [])).toThrow(new UsageError("--in is required"));
    expect(() => parseCommand(spec, ["--in", "a", "--steps", "11"])).toThrow('--steps expects an integer ≥ 1 ≤ 10, found "11"');
    expect(() => parseCommand(spec, ["--in", "a", "--rate", "fast"])).toThrow('--rate expects a number, found "fast"');
    expect(() => parseCommand(spec, ["--in", "a", "--mode", "medium"])).toThrow('--mode expects one of fast, slow, found "medium"');
    expect(() => parseCommand(spec, ["--in", "a", "--colour"])).toThrow(expect.objectContaining({ code: "ERR_PARSE_ARGS_UNKNOWN_OPTION" }));
    expect(() => parseCommand(spec, ["--in", "a", "stray"])).toThrow(expect.objectContaining({ code: "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" }));
  });

  it("render the usage line and one aligned help line per option", () => {
    expect(usageLine(spec)).toBe("metis demo --in FILE [--out FILE] [--steps N] [--rate X] [--mode fast|slow] [--tag T...] [-n N] [--verbose]");
    const help = commandHelp(spec).split("\n");
    expect(help.slice(0, 5)).toEqual([`usage: ${usageLine(spec)}`, "", "a demo command", "", "options:"]);
    expect(help.slice(5)).toEqual([
      "  --in FILE         input (required)",
      "  --out FILE        output (default out.txt)",
      "  --steps N         steps (default 3)",
      "  --rate X          rate (default none)",
      "  --mode fast|slow  mode (default fast)",
      "  --tag T           tags (default none)",
      "  -n N              count (default 1)",
      "  --verbose         say more (default off)",
      "  -h, --help        show this help",
    ]);
  });
});
