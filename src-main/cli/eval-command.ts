// `metis eval`: pass rate and mean reward per item, and a table by family and difficulty.
import { parseArgs } from "node:util";
import { readTaskRows } from "../datasets/default-datasets.js";
import { evaluateRows, passRateTable } from "../eval/evaluate.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { numberOption, requiredOption } from "./usage-error.js";

export const EVAL_USAGE = "metis eval --model FILE --dataset FILE.jsonl [--lora FILE] [--samples K] [--temperature T] [--max-tokens N] [--seed N] [--json]";

/** Run `metis eval`; returns the text to print. */
export async function evalCommand(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: "string" }, dataset: { type: "string" }, lora: { type: "string" }, samples: { type: "string" },
      temperature: { type: "string" }, "max-tokens": { type: "string" }, seed: { type: "string" }, json: { type: "boolean", default: false },
    },
  });
  const rows = readTaskRows(requiredOption("dataset", values.dataset));
  const samples = numberOption("samples", values.samples, 8, { integer: true, min: 1, max: 256 });
  const sampling = {
    temperature: numberOption("temperature", values.temperature, 1, { min: 0, max: 10 }),
    maxTokens: numberOption("max-tokens", values["max-tokens"], 96, { integer: true, min: 1, max: 4096 }),
    seed: numberOption("seed", values.seed, 0, { integer: true, min: 0, max: 0xffffffff }),
  };
  const engine = await RolloutEngine.load({ modelPath: requiredOption("model", values.model), adapter: values.lora ? { path: values.lora } : null });
  try {
    const report = await evaluateRows(engine, rows, samples, sampling, (done, total) => {
      if (!values.json && process.stderr.isTTY) process.stderr.write(`\r${done}/${total} items`);
    });
    if (values.json) return JSON.stringify(report);
    const o = report.overall;
    return [
      passRateTable(report),
      "",
      `${o.items} items × ${samples} samples: pass rate ${(o.passRate * 100).toFixed(1)} %, mean reward ${o.meanReward.toFixed(3)}, ` +
        `${o.solved} always solved, ${o.unsolved} never, ${(o.inBetween * 100).toFixed(1)} % in between (${report.tokensPerSecond.toFixed(0)} tokens/s)`,
    ].join("\n");
  } finally {
    await engine.dispose();
  }
}
