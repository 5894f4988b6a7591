// `metis eval`: pass rate and mean reward per item, and a table by family and difficulty; with
// --compare, the base model against the adapter on the same rows and seeds.
import { readTaskRows } from "../datasets/default-datasets.js";
import { compareReports, compareTable } from "../eval/compare.js";
import { evaluateRows, passRateTable, type EvalReport } from "../eval/evaluate.js";
import { resolveRftConfig } from "../rft/rft-config.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { resolveSampling } from "../rollout/sampling.js";
import { flag, int, num, parseCommand, str, type CommandSpec } from "./options.js";
import { UsageError } from "./usage-error.js";

// Evaluation samples completions the way runs roll them out: the run config's length, the sampler's temperature and seed.
const RUN = resolveRftConfig({ model: "-", dataset: "-" });
const SAMPLING = resolveSampling();

export const EVAL_COMMAND = {
  name: "eval",
  summary: "pass rate and mean reward of a model on a dataset, by family and difficulty; --compare: base against adapter",
  options: {
    model: str("FILE", "GGUF model", { required: true }),
    dataset: str("FILE", "JSONL task rows to evaluate on", { required: true }),
    lora: str("FILE", "LoRA adapter (GGUF) to evaluate with the model"),
    compare: flag("evaluate the base model and the adapter (--lora) on the same rows and seeds, and print both side by side"),
    samples: int("K", "completions sampled per item", { default: 8, min: 1, max: 256 }),
    temperature: num("T", "sampling temperature", { default: SAMPLING.temperature, min: 0, max: 10 }),
    "max-tokens": int("N", "most tokens per completion", { default: RUN.maxTokens, min: 1, max: 4096 }),
    seed: int("N", "sampling seed", { default: SAMPLING.seed, min: 0, max: 0xffffffff }),
    json: flag("print the report (with --compare: {rows, base, adapter}) as JSON"),
  },
} satisfies CommandSpec;

/** The one-line summary under a pass-rate table. */
function overallLine(report: EvalReport, samples: number): string {
  const o = report.overall;
  return (
    `${o.items} items × ${samples} samples: pass rate ${(o.passRate * 100).toFixed(1)} %, mean reward ${o.meanReward.toFixed(3)}, ` +
    `${o.solved} always solved, ${o.unsolved} never, ${(o.inBetween * 100).toFixed(1)} % in between (${report.tokensPerSecond.toFixed(0)} tokens/s)`
  );
}

/** Run `metis eval`; returns the text to print. */
export async function evalCommand(argv: string[]): Promise<string> {
  const { values } = parseCommand(EVAL_COMMAND, argv);
  if (values.compare && !values.lora) throw new UsageError("--compare needs --lora: the adapter to compare with the base model");
  const rows = readTaskRows(values.dataset);
  const sampling = { temperature: values.temperature, maxTokens: values["max-tokens"], seed: values.seed };
  // The adapter is vetted at load, so a bad adapter fails before the base model's pass is spent.
  const engine = await RolloutEngine.load({ modelPath: values.model, adapter: values.lora ? { path: values.lora } : null });
  const evaluate = (label: string): Promise<EvalReport> =>
    evaluateRows(engine, rows, values.samples, sampling, (done, total) => {
      if (!values.json && process.stderr.isTTY) process.stderr.write(`\r${label}${done}/${total} items${done === total ? "\n" : ""}`);
    });
  try {
    if (!values.compare) {
      const report = await evaluate("");
      return values.json ? JSON.stringify(report) : [passRateTable(report), "", overallLine(report, values.samples)].join("\n");
    }
    const adapter = await evaluate("adapter: ");
    await engine.setAdapter(null);
    const base = await evaluate("base: ");
    const compared = compareReports(base, adapter);
    if (values.json) return JSON.stringify({ rows: compared, base: base.overall, adapter: adapter.overall, samples: values.samples, sampling });
    return [compareTable(compared), "", `base:    ${overallLine(base, values.samples)}`, `adapter: ${overallLine(adapter, values.samples)}`].join("\n");
  } finally {
    await engine.dispose();
  }
}
