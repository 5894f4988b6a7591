// `metis pretrain`: train the built-in model on the synthetic suite (and write the datasets).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readTaskRows, TEST_FILE, writeDefaultDatasets } from "../datasets/default-datasets.js";
import { DEFAULT_PRETRAIN, pretrain } from "../pretrain/pretrain.js";
import { parseMix } from "../pretrain/pretrain-data.js";
import { numberOption } from "./usage-error.js";

export const PRETRAIN_USAGE =
  "metis pretrain [--out resources/models/metis-tiny.gguf] [--datasets resources/datasets] [--steps N] [--seed N] [--batch N] [--lr X] [--layers N] [--dim N] [--heads N] [--kv-heads N] [--ffn N] [--init FILE.gguf] [--calibrate-steps N] [--mix family=w,…] [--typo-share P] [--json]";

/** Run `metis pretrain`; returns the text to print. */
export async function pretrainCommand(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      out: { type: "string", default: "resources/models/metis-tiny.gguf" }, datasets: { type: "string", default: "resources/datasets" },
      steps: { type: "string" }, seed: { type: "string" }, batch: { type: "string" }, lr: { type: "string" }, layers: { type: "string" },
      dim: { type: "string" }, heads: { type: "string" }, "kv-heads": { type: "string" }, ffn: { type: "string" }, init: { type: "string" }, "calibrate-steps": { type: "string" }, mix: { type: "string" }, "typo-share": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const d = DEFAULT_PRETRAIN;
  const int = (name: keyof typeof values, fallback: number): number => numberOption(name, values[name] as string | undefined, fallback, { integer: true, min: 1, max: 1e7 });
  // The held-out split is written first so training never sees its prompts.
  const testPath = join(values.datasets, TEST_FILE);
  if (!existsSync(testPath)) writeDefaultDatasets(values.datasets);
  const heldOut = new Set(readTaskRows(testPath).map((r) => r.prompt));
  const result = await pretrain(
    {
      ...d,
      out: values.out,
      heldOut,
      steps: int("steps", d.steps),
      seed: numberOption("seed", values.seed, d.seed, { integer: true, min: 0, max: 0xffffffff }),
      batch: int("batch", d.batch),
      lr: numberOption("lr", values.lr, d.lr, { min: 0, max: 1 }),
      minLr: Math.min(d.minLr, numberOption("lr", values.lr, d.lr, { min: 0, max: 1 }) / 10),
      layers: int("layers", d.layers),
      dim: int("dim", d.dim),
      heads: int("heads", d.heads),
      kvHeads: int("kv-heads", d.kvHeads),
      ffn: int("ffn", d.ffn),
      initFrom: values.init ?? null,
      ...(values.mix ? { familyWeights: parseMix(values.mix) } : {}),
      typoShare: numberOption("typo-share", values["typo-share"], d.typoShare, { min: 0, max: 1 }),
      calibrateSteps: numberOption("calibrate-steps", values["calibrate-steps"], d.calibrateSteps, { integer: true, min: 0, max: 1e7 }),
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  if (values.json) return JSON.stringify(result);
  return `wrote ${result.path}: ${result.parameters} parameters, ${result.steps} steps in ${result.seconds.toFixed(0)} s, final loss ${result.finalLoss.toFixed(4)}`;
}
