// Function calling: pick the right tool among a few and fill its arguments, as one JSON call.
// Scored like BFCL (name and every argument must match); `partialCredit` rows score the fraction
// matched. Difficulty: number of tools offered and arguments to fill.
import type { Rng } from "../../util/rng.js";
import type { TaskRow } from "../task-row.js";

const CITIES = ["Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Delhi", "Rome", "Quito"];
const ZONES = ["UTC", "CET", "JST", "EST", "PST"];
const CURRENCIES = ["USD", "EUR", "JPY", "GBP"];
const WORDS = ["cats", "maps", "tea", "jazz", "rust", "chess"];

interface Tool {
  signature: string;
  make: (rng: Rng) => { ask: string; args: Record<string, string | number> };
}

const TOOLS: Record<string, Tool> = {
  weather: { signature: "weather(city)", make: (r) => { const c = r.pick(CITIES); return { ask: `weather in ${c}`, args: { city: c } }; } },
  time: { signature: "time(zone)", make: (r) => { const z = r.pick(ZONES); return { ask: `time in ${z}`, args: { zone: z } }; } },
  search: { signature: "search(query)", make: (r) => { const w = r.pick(WORDS); return { ask: `search for ${w}`, args: { query: w } }; } },
  convert: {
    signature: "convert(amount,from,to)",
    make: (r) => {
      const [a, b] = r.shuffle([...CURRENCIES]);
      const n = 1 + r.int(99);
      return { ask: `convert ${n} ${a} to ${b}`, args: { amount: n, from: a!, to: b! } };
    },
  },
  email: { signature: "email(to,subject)", make: (r) => { const to = r.pick(["ann", "bob", "eve", "max"]); const s = r.pick(WORDS); return { ask: `email ${to} about ${s}`, args: { to, subject: s } }; } },
};

const TOOL_COUNT: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 };

/** One function-call item. */
export function functionCallTask(rng: Rng, difficulty: number, id: string, partialCredit = false): TaskRow {
  const names = Object.keys(TOOLS);
  // Harder items offer more tools and favour the multi-argument ones.
  const pool = difficulty >= 4 ? ["convert", "email"] : difficulty >= 2 ? names : ["weather", "time", "search"];
  const chosen = rng.pick(pool);
  const others = rng.shuffle(names.filter((n) => n !== chosen)).slice(0, (TOOL_COUNT[difficulty] ?? 5) - 1);
  const offered = rng.shuffle([chosen, ...others]);
  const { ask, args } = TOOLS[chosen]!.make(rng);
  const call = JSON.stringify({ name: chosen, arguments: args });
  const expected = [{ [chosen]: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, [v]])) }];
  return {
    id,
    family: partialCredit ? "function-call-partial" : "function-call",
    difficulty,
    prompt: `Tools: ${offered.map((n) => TOOLS[n]!.signature).join("; ")}\nQ: ${ask}\nA:`,
    reference: ` ${call}`,
    reward: { kind: "function-call", expected, partialCredit },
  };
}
