// `metis pretrain`: full-parameter SFT of a small llama-architecture model on the synthetic
// suite (and the self-judgment format) with the project's own ONNX engine; writes a GGUF.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Keys } from "../gguf/constants.js";
import { kv } from "../gguf/metadata.js";
import { writeModelGguf } from "../model/model-file.js";
import { makeTinyModel } from "../model/tiny-model.js";
import { writeMergedGguf } from "../train/llama/export.js";
import { loadLlamaWeights } from "../train/llama/llama-weights.js";
import { PolicyModel } from "../train/llama/policy-model.js";
import { Rng } from "../util/rng.js";
import { evaluateRows } from "../eval/evaluate.js";
import { RolloutEngine } from "../rollout/rollout-engine.js";
import { FAMILY_WEIGHTS, PRIOR_VARIANCE, measuredVariance, pretrainBatch, randomTask, type FamilyWeights, type ReadingTarget, type VarianceOf } from "./pretrain-data.js";

/** Recipe of the built-in model; every field has a default. */
export interface PretrainOptions {
  out: string;
  name: string;
  steps: number;
  seed: number;
  batch: number;
  lr: number;
  minLr: number;
  warmup: number;
  layers: number;
  dim: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  judgmentShare: number;
  /** Prompts never trained on (the held-out test split). */
  heldOut: ReadonlySet<string>;
  varianceOf: VarianceOf;
  /** Continue from these weights instead of a random start. */
  initFrom: string | null;
  threads: number;
  /**
   * After the main phase: sample the model on `calibrationItems` training items, measure each
   * (family, difficulty) cell's reward variance, and train `calibrateSteps` more steps with
   * judgment items built from those measurements. 0 skips it.
   */
  calibrateSteps: number;
  calibrationItems: number;
  /** Share of each task family in the stream. */
  familyWeights: FamilyWeights;
  /** Share of task answers trained with one slip in them (`withTypo`): headroom left for RL. */
  typoShare: number;
  /** Share of judgment items that can only be answered by reading their examples (`readingJudgmentSequence`). */
  readingShare: number;
  /** What reading items answer (`ReadingTarget`). */
  readingTarget: ReadingTarget;
}

export const DEFAULT_PRETRAIN: Omit<PretrainOptions, "out" | "heldOut"> = {
  name: "metis-tiny",
  steps: 4000,
  seed: 1,
  batch: 16,
  lr: 3e-3,
  minLr: 3e-4,
  warmup: 100,
  layers: 4,
  dim: 192,
  heads: 6,
  kvHeads: 2,
  ffn: 512,
  judgmentShare: 0.15,
  varianceOf: PRIOR_VARIANCE,
  initFrom: null,
  threads: 2,
  calibrateSteps: 500,
  calibrationItems: 300,
  familyWeights: FAMILY_WEIGHTS,
  typoShare: 0,
  readingShare: 0,
  readingTarget: "mean",
};

/** Linear warm-up, then cosine decay to minLr. */
export function learningRate(step: number, o: Pick<PretrainOptions, "lr" | "minLr" | "warmup" | "steps">): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const t = (step - o.warmup) / Math.max(1, o.steps - o.warmup);
  return o.minLr + 0.5 * (o.lr - o.minLr) * (1 + Math.cos(Math.PI * Math.min(1, t)));
}

/** Train and write the model; `progress` gets one line per logged step. Returns a summary. */
export async function pretrain(o: PretrainOptions, progress: (line: string) => void = () => undefined): Promise<{ path: string; steps: number; seconds: number; finalLoss: number; parameters: number }> {
  const tmp = mkdtempSync(join(tmpdir(), "metis-pretrain-"));
  const logPath = o.out.replace(/\.gguf$/, "") + ".train.jsonl";
  mkdirSync(dirname(o.out), { recursive: true });
  if (!o.initFrom) writeFileSync(logPath, "");
  else appendFileSync(logPath, JSON.stringify({ phase: "continue", from: o.initFrom, steps: o.steps, lr: o.lr, calibrateSteps: o.calibrateSteps, mix: o.familyWeights, typoShare: o.typoShare, readingShare: o.readingShare, readingTarget: o.readingTarget }) + "\n");
  try {
    let init = o.initFrom;
    if (!init) {
      init = join(tmp, "init.gguf");
      const model = makeTinyModel({ arch: "llama", layers: o.layers, dim: o.dim, heads: o.heads, kvHeads: o.kvHeads, ffn: o.ffn, vocab: "bytes", contextLength: 1024, seed: o.seed });
      model.metadata.set(Keys.general.name, kv.str(o.name));
      writeModelGguf(init, model, "F32");
    }
    const weights = loadLlamaWeights(init);
    const parameters = weights.rows.reduce((n, r) => n + r.shape.reduce((a, b) => a * b, 1), 0);
    const model = await PolicyModel.create(weights, { kind: "full" }, { kind: "sft" }, { hyper: { lr: o.lr, weightDecay: 0.01, maxGradNorm: 1 }, threads: o.threads });
    const rng = new Rng(o.seed + 1000);
    const t0 = performance.now();
    let ema = NaN;
    try {
      for (let step = 0; step < o.steps; step++) {
        model.engine.setLearningRate(learningRate(step, o));
        const batch = pretrainBatch(rng, o.batch, o.heldOut, o.judgmentShare, o.varianceOf, o.familyWeights, o.typoShare, o.readingShare, o.readingTarget);
        const { loss } = await model.update(batch);
        ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
        if (step % 50 === 0 || step === o.steps - 1) {
          const entry = { step, loss: round(loss), lossEma: round(ema), lr: learningRate(step, o), seconds: Math.round((performance.now() - t0) / 100) / 10 };
          appendFileSync(logPath, JSON.stringify(entry) + "\n");
          progress(`step ${step}/${o.steps}  loss ${entry.lossEma.toFixed(4)}  lr ${entry.lr.toExponential(2)}  ${entry.seconds}s`);
        }
      }
      writeMergedGguf(o.out, weights, model.currentWeights(), "F32");
      if (o.calibrateSteps > 0) {
        const varianceOf = await measureVariances(o.out, o, progress);
        const phase = { ...o, lr: o.lr / 3, minLr: o.minLr, warmup: 20, steps: o.calibrateSteps };
        for (let step = 0; step < o.calibrateSteps; step++) {
          model.engine.setLearningRate(learningRate(step, phase));
          const batch = pretrainBatch(rng, o.batch, o.heldOut, 0.5, varianceOf, o.familyWeights, o.typoShare, o.readingShare, o.readingTarget);
          const { loss } = await model.update(batch);
          ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
          if (step % 50 === 0 || step === o.calibrateSteps - 1) {
            const entry = { phase: "calibrate", step, loss: round(loss), lossEma: round(ema), lr: learningRate(step, phase), seconds: Math.round((performance.now() - t0) / 100) / 10 };
            appendFileSync(logPath, JSON.stringify(entry) + "\n");
            progress(`calibrate ${step}/${o.calibrateSteps}  loss ${entry.lossEma.toFixed(4)}  ${entry.seconds}s`);
          }
        }
        writeMergedGguf(o.out, weights, model.currentWeights(), "F32");
      }
    } finally {
      await model.dispose();
    }
    return { path: o.out, steps: o.steps + o.calibrateSteps, seconds: (performance.now() - t0) / 1000, finalLoss: ema, parameters };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** Sample the just-written model on fresh training items and tabulate reward variance by cell. */
async function measureVariances(modelPath: string, o: PretrainOptions, progress: (line: string) => void): Promise<VarianceOf> {
  const rng = new Rng(o.seed + 2000);
  const rows = Array.from({ length: o.calibrationItems }, (_, i) => randomTask(rng, o.heldOut, `calibrate-${i}`, o.familyWeights));
  const engine = await RolloutEngine.load({ modelPath, promptFormat: "raw" });
  try {
    const report = await evaluateRows(engine, rows, 8, { temperature: 1, maxTokens: 96, seed: o.seed });
    const cells = report.cells.map((c) => ({ family: c.family, difficulty: c.difficulty, variance: c.rewardVariance }));
    progress(`calibration: measured reward variance in ${cells.length} cells on ${rows.length} items × 8 samples`);
    return measuredVariance(cells);
  } finally {
    await engine.dispose();
  }
}
