// `metis pretrain`: train the built-in model on the synthetic suite (and write the datasets).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readTaskRows, TEST_FILE, writeDefaultDatasets } from "../datasets/default-datasets.js";
import { DEFAULT_PRETRAIN, pretrain } from "../pretrain/pretrain.js";
import { parseMix, READING_TARGETS } from "../pretrain/pretrain-data.js";
import { choice, flag, int, num, parseCommand, str, type CommandSpec } from "./options.js";
import { UsageError } from "./usage-error.js";

const d = DEFAULT_PRETRAIN;
const count = { min: 1, max: 1e7 };

export const PRETRAIN_COMMAND = {
  name: "pretrain",
  summary: "train the built-in model (full-parameter SFT in the ONNX engine) on the synthetic task suite",
  options: {
    out: str("FILE", "where to write the model (its training log goes beside it)", { default: "resources/models/metis-tiny.gguf" }),
    datasets: str("DIR", "folder of the synthetic train / test splits (written when missing)", { default: "resources/datasets" }),
    steps: int("N", "training steps of the main phase", { default: d.steps, ...count }),
    seed: int("N", "seed of the data stream and the initial weights", { default: d.seed, min: 0, max: 0xffffffff }),
    batch: int("N", "items per step", { default: d.batch, ...count }),
    lr: num("X", "peak learning rate (cosine decay to at most a tenth of it)", { default: d.lr, min: 0, max: 1 }),
    layers: int("N", "transformer blocks", { default: d.layers, ...count }),
    dim: int("N", "embedding width", { default: d.dim, ...count }),
    heads: int("N", "attention heads", { default: d.heads, ...count }),
    "kv-heads": int("N", "key/value heads", { default: d.kvHeads, ...count }),
    ffn: int("N", "feed-forward width", { default: d.ffn, ...count }),
    init: str("FILE", "continue from these weights instead of a random start", { absent: "random weights" }),
    "calibrate-steps": int("N", "steps of the calibration phase (judgments from the model's measured variance); 0 skips it", { default: d.calibrateSteps, min: 0, max: 1e7 }),
    mix: str("family=w,…", "share of each task family in the stream", { default: Object.entries(d.familyWeights).map(([family, w]) => `${family}=${w}`).join(",") }),
    "typo-share": num("P", "share of answers trained with one slip in them (headroom for RL)", { default: d.typoShare, min: 0, max: 1 }),
    "reading-share": num("P", "share of judgment items answerable only by reading their examples (a cell's pass rate shifted, as RL shifts it)", { default: d.readingShare, min: 0, max: 1 }),
    "reading-target": choice(READING_TARGETS, "what reading items answer: the mean variance their cell's examples showed, or the cell's expected variance", { default: d.readingTarget }),
    json: flag("print the summary as JSON"),
  },
} satisfies CommandSpec;

/** Parse --mix, as a usage error when it is malformed. */
function mixOption(text: string): ReturnType<typeof parseMix> {
  try {
    return parseMix(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Run `metis pretrain`; returns the text to print. */
export async function pretrainCommand(argv: string[]): Promise<string> {
  const { values, given } = parseCommand(PRETRAIN_COMMAND, argv);
  // The stream's own weights unless --mix is given (its default above is only their rendering).
  const mix = given.has("mix") ? { familyWeights: mixOption(values.mix) } : {};
  // The held-out split is written first so training never sees its prompts.
  const testPath = join(values.datasets, TEST_FILE);
  if (!existsSync(testPath)) writeDefaultDatasets(values.datasets);
  const heldOut = new Set(readTaskRows(testPath).map((r) => r.prompt));
  const result = await pretrain(
    {
      ...d,
      out: values.out,
      heldOut,
      steps: values.steps,
      seed: values.seed,
      batch: values.batch,
      lr: values.lr,
      minLr: Math.min(d.minLr, values.lr / 10),
      layers: values.layers,
      dim: values.dim,
      heads: values.heads,
      kvHeads: values["kv-heads"],
      ffn: values.ffn,
      initFrom: values.init ?? null,
      ...mix,
      typoShare: values["typo-share"],
      readingShare: values["reading-share"],
      readingTarget: values["reading-target"],
      calibrateSteps: values["calibrate-steps"],
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  if (values.json) return JSON.stringify(result);
  return `wrote ${result.path}: ${result.parameters} parameters, ${result.steps} steps in ${result.seconds.toFixed(0)} s, final loss ${result.finalLoss.toFixed(4)}`;
}
