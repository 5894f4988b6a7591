// The pre-flight estimate of a run's peak memory and time per step, from the model's shape (its
// GGUF header) and the run's settings. The coefficients are fitted to measurements of short
// `metis train` runs on factory models (`npm run bench -- preflight`, the table in
// bench/results/preflight-calibration.json); the terms follow what the process holds:
//   - a fixed runtime (Node, ONNX Runtime, llama.cpp, the sandbox pool);
//   - the base weights as the training engine holds them, once per process (ONNX sessions take
//     them as inputs and keep no copy; a reference policy shares them): float16 for matrices the
//     GGUF does not store as F32, float32 otherwise (ModelShape.heldBytes); at the set-up peak a
//     fitted number of such copies (reading and widening), one once loaded (from the code);
//   - llama.cpp's model (the GGUF file, mapped and read whole while decoding) and its contexts'
//     KV caches (F16, one context per parallel sequence);
//   - the LoRA parameters with their AdamW moments and gradients;
//   - the update's activations: per padded position of the largest micro-batch, a per-layer
//     share (hidden width, feed-forward width, attention scores over the sequence) for every
//     layer, or for one layer plus the kept residual stream when the policy trains block by block
//     or recomputes blocks (train/llama/llama-graph.ts blockwiseByDefault,
//     recomputeBlocksByDefault), and the LM head's logits over one
//     vocabulary chunk (HEAD_CHUNK_ROWS rows; the whole vocabulary when smaller).
// The peak is the larger of the set-up peak (weights while the sessions are built) and the
// update's (resident weights plus activations): a 358M model with a small batch peaks while it
// builds its sessions, a small model with a large batch during the update.
import { Keys, archKey } from "../gguf/constants.js";
import { metaArray, metaNumber, metaString } from "../gguf/metadata.js";
import { readGguf, type GgufFile } from "../gguf/reader.js";
import type { ModelInfo } from "../model/model-info.js";
import { GgmlType } from "../gguf/constants.js";
import { blockwiseByDefault, blockwisePositionCap, HEAD_CHUNK_ROWS, recomputeBlocksByDefault } from "../train/llama/llama-graph.js";

/** What the estimate needs to know about a model: read from its GGUF header. */
export interface ModelShape {
  parameters: number;
  fileBytes: number;
  layers: number;
  dim: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  contextLength: number;
  /**
   * Bytes of the weights as training holds them (train/llama/llama-weights.ts, "auto"): 2 per
   * element of a matrix not stored as F32, 4 otherwise. Absent: 4 per parameter.
   */
  heldBytes?: number;
}

/** The run settings the estimate depends on. */
export interface EstimateSettings {
  batchSize: number;
  groupSize: number;
  maxTokens: number;
  loraRank: number;
  /** Padded positions per training micro-batch (RftConfig.microBatchTokens). */
  microBatchTokens: number;
  /** Tokens of the longest prompt (the worst case the update and the contexts are sized for). */
  promptTokens: number;
  /** LoRA target projections (7: q, k, v, o, gate, up, down). */
  loraTargets?: number;
  /** Parallel rollout contexts (the rollout engine's DEFAULT_PARALLEL, 8). */
  parallel?: number;
  /** A KL penalty keeps a second (reference) trainer. */
  klCoef?: number;
}

/** One calibration run: the shape and settings, and what was measured. */
export interface CalibrationMeasurement {
  shape: ModelShape;
  settings: EstimateSettings;
  peakRssMB: number;
  /** Wall time of the whole command (set-up, steps, checkpoint), seconds. */
  wallS: number;
  stepMs: number[];
  rolloutMs: number[];
  rolloutTokens: number[];
  updateMs: number[];
  /** Tokens (prompt + completion) of the sequences each step's update trained on. */
  trainTokens: number[];
}

/** The fitted coefficients (bench/results/preflight-calibration.json). */
export interface Calibration {
  /** Fixed runtime, MB. */
  baseMB: number;
  /** Copies of the held weights at the set-up peak (fitted). */
  setupWeightCopies: number;
  /** Copies of the held weights once loaded (one: from the code). */
  weightCopies: number;
  /** Bytes per padded position per layer-unit (4·dim + 3·ffn + 2·heads·seqLen floats). */
  layerActivationBytes: number;
  /** Bytes per padded position per row of the LM head's vocabulary chunk. */
  vocabActivationBytes: number;
  /** Rollout: ms per generated token = rolloutMsPerToken + rolloutMsPerTokenPerGB × file GB. */
  rolloutMsPerToken: number;
  rolloutMsPerTokenPerGB: number;
  /** Update: ms per trained token = updateMsPerToken + updateMsPerTokenPerMParam × parameters / 1e6. */
  updateMsPerToken: number;
  updateMsPerTokenPerMParam: number;
  /** Set-up before the first step: setupS + setupSPerMParam × parameters / 1e6. */
  setupS: number;
  setupSPerMParam: number;
}

/**
 * Memory terms fitted by `npm run bench -- preflight --fit` on a 2-core VM (Node 20,
 * onnxruntime-node 1.30, node-llama-cpp 3.21.1; bench/results/preflight-calibration-held-weights.json).
 * Time terms fitted to quiet measurements of the block-by-block engine: rollout and update
 * milliseconds per token by `--fit` (relative least squares over the fitted points of
 * bench/results/preflight-2026-11-26T10-36-32-878Z.json, 3M–181M); set-up to the first step by
 * least squares over all its points and the scale bench's presets
 * (scale-2026-11-26T10-01-39-591Z.json, up to 1.5B), as `--fit` sees no preset of that size.
 * Re-fit when the training engine's memory or speed changes.
 */
export const CALIBRATION: Calibration = {
  baseMB: 640.8,
  setupWeightCopies: 1.87,
  weightCopies: 1,
  layerActivationBytes: 8.28,
  vocabActivationBytes: 74.5,
  rolloutMsPerToken: 0.95,
  rolloutMsPerTokenPerGB: 60.3,
  updateMsPerToken: 0.29,
  updateMsPerTokenPerMParam: 0.051,
  setupS: 7.1,
  setupSPerMParam: 0.0102,
};

/** Mirrors DEFAULT_PARALLEL in rollout/rollout-engine.ts (not imported: that module loads node-llama-cpp). */
export const ROLLOUT_PARALLEL = 8;
/** Mirrors contextSizeFor in rollout/rollout-engine.ts: powers of two from 256, capped by the model's context. */
function rolloutContextSize(tokens: number, limit: number): number {
  let size = 256;
  while (size < tokens) size *= 2;
  return Math.max(tokens, Math.min(size, limit));
}

const MB = 2 ** 20;

/** Memory terms of an estimate, MB. */
export interface MemoryEstimate {
  totalMB: number;
  runtimeMB: number;
  /** Weights held while the update runs (float32 copies). */
  weightsMB: number;
  /** Weights at the set-up peak, while the sessions are built. */
  setupMB: number;
  llamaMB: number;
  kvCacheMB: number;
  loraMB: number;
  activationsMB: number;
}

/** Time terms of an estimate. */
export interface TimeEstimate {
  setupSeconds: number;
  rolloutSeconds: number;
  updateSeconds: number;
  stepSeconds: number;
}

/** A run's estimated peak memory and time per step. */
export interface RunEstimate {
  memory: MemoryEstimate;
  time: TimeEstimate;
  /** Padded positions of the largest micro-batch of a full update. */
  microBatchPositions: number;
}

/** Bytes the training engine holds the weights in (ModelShape.heldBytes; float32 when unknown). */
function heldBytesOf(shape: ModelShape): number {
  return shape.heldBytes ?? 4 * shape.parameters;
}

/** Held weights, MB. */
function heldMB(shape: ModelShape): number {
  return heldBytesOf(shape) / MB;
}

/** Whether the policy trains this model block by block (train/llama/llama-graph.ts blockwiseByDefault). */
function trainsBlockwise(shape: ModelShape): boolean {
  return blockwiseByDefault(heldBytesOf(shape));
}

/**
 * Layer-units per padded position (see Calibration.layerActivationBytes): every layer's, or one
 * layer's when the policy trains block by block or recomputes blocks at this micro-batch budget.
 */
function layerUnits(shape: ModelShape, seqLen: number, microBatchTokens: number): number {
  const alive = trainsBlockwise(shape) || recomputeBlocksByDefault(shape, microBatchTokens) ? 1 : shape.layers;
  return alive * (4 * shape.dim + 3 * shape.ffn + 2 * shape.heads * seqLen);
}

/** The residual stream kept at block boundaries (block by block, or blocks recomputed): float32 [positions, dim] each, bytes. */
function residualBytes(shape: ModelShape, positions: number, microBatchTokens: number): number {
  if (trainsBlockwise(shape)) return (shape.layers + 1) * positions * shape.dim * 4;
  return recomputeBlocksByDefault(shape, microBatchTokens) ? shape.layers * positions * shape.dim * 4 : 0;
}

/** Rows of the LM head whose logits exist at once (train/llama/llama-graph.ts HEAD_CHUNK_ROWS). */
function headRows(shape: ModelShape): number {
  return Math.min(shape.vocab, HEAD_CHUNK_ROWS);
}

/** The padded positions of the largest micro-batch: whole sequences up to the budget, at least one. */
export function microBatchPositions(sequences: number, seqLen: number, budget: number): number {
  const perBatch = Math.max(1, Math.floor(budget / seqLen));
  return Math.min(sequences, perBatch) * seqLen;
}

/** LoRA A and B over every layer's targets, as parameter count. */
function loraParameters(shape: ModelShape, rank: number, targets: number): number {
  const kv = shape.kvHeads * shape.headDim;
  const q = shape.heads * shape.headDim;
  // in + out per projection: q, k, v, o, gate, up, down.
  const perTarget = [shape.dim + q, shape.dim + kv, shape.dim + kv, q + shape.dim, shape.dim + shape.ffn, shape.dim + shape.ffn, shape.ffn + shape.dim];
  const used = perTarget.slice(0, targets).reduce((a, b) => a + b, 0);
  return shape.layers * rank * used;
}

/** Estimate a run's peak memory (MB) and time per step with the given coefficients. */
export function estimateRun(shape: ModelShape, s: EstimateSettings, c: Calibration = CALIBRATION, updatePositions?: number): RunEstimate {
  const seqLen = s.promptTokens + s.maxTokens;
  const sequences = s.batchSize * s.groupSize;
  // Block by block, the policy's cap (blockwisePositionCap) where it is below the run's budget.
  // Otherwise the run's budget, not the one graph's lower cap for large models
  // (microBatchPositionCap): the pre-flight's suggestions vary this budget, so its estimate
  // over-counts where that cap binds.
  const budget = trainsBlockwise(shape) ? Math.min(s.microBatchTokens, blockwisePositionCap(shape)) : s.microBatchTokens;
  const positions = updatePositions ?? microBatchPositions(sequences, seqLen, budget);
  // A reference policy (klCoef > 0) shares the held weights; its forward pass runs apart from the
  // update, so the update's activations bound it.
  const W = heldMB(shape);
  const weightsMB = W * c.weightCopies;
  const setupMB = W * c.setupWeightCopies;
  const llamaMB = shape.fileBytes / MB;
  const ctx = rolloutContextSize(seqLen, shape.contextLength);
  const kvCacheMB = ((s.parallel ?? ROLLOUT_PARALLEL) * ctx * shape.layers * 2 * shape.kvHeads * shape.headDim * 2) / MB;
  // Parameters, AdamW's two moments and a gradient, float32.
  const loraMB = (loraParameters(shape, s.loraRank, s.loraTargets ?? 7) * 4 * 4) / MB;
  const activationsMB = (positions * (c.layerActivationBytes * layerUnits(shape, seqLen, budget) + c.vocabActivationBytes * headRows(shape)) + residualBytes(shape, positions, budget)) / MB;
  const runtimeMB = c.baseMB;
  const totalMB = runtimeMB + llamaMB + kvCacheMB + loraMB + Math.max(setupMB, weightsMB + activationsMB);
  const rolloutSeconds = (sequences * s.maxTokens * (c.rolloutMsPerToken + (c.rolloutMsPerTokenPerGB * shape.fileBytes) / 2 ** 30)) / 1000;
  const updateSeconds = (sequences * seqLen * (c.updateMsPerToken + (c.updateMsPerTokenPerMParam * shape.parameters) / 1e6)) / 1000;
  const setupSeconds = c.setupS + (c.setupSPerMParam * shape.parameters) / 1e6;
  return {
    memory: { totalMB, runtimeMB, weightsMB, setupMB, llamaMB, kvCacheMB, loraMB, activationsMB },
    time: { setupSeconds, rolloutSeconds, updateSeconds, stepSeconds: rolloutSeconds + updateSeconds },
    microBatchPositions: positions,
  };
}

/** Least squares of A·x ≈ y (normal equations; the systems here are 2 × 2 to 4 × 4). */
function leastSquares(rows: number[][], y: number[]): number[] {
  const n = rows[0]!.length;
  const ata = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => rows.reduce((a, r) => a + r[i]! * r[j]!, 0)));
  const aty = Array.from({ length: n }, (_, i) => rows.reduce((a, r, k) => a + r[i]! * y[k]!, 0));
  // Gaussian elimination with partial pivoting.
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(ata[r]![col]!) > Math.abs(ata[pivot]![col]!)) pivot = r;
    [ata[col], ata[pivot]] = [ata[pivot]!, ata[col]!];
    [aty[col], aty[pivot]] = [aty[pivot]!, aty[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = ata[r]![col]! / ata[col]![col]!;
      for (let k = col; k < n; k++) ata[r]![k]! -= f * ata[col]![k]!;
      aty[r]! -= f * aty[col]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) x[r] = (aty[r]! - ata[r]!.slice(r + 1).reduce((a, v, k) => a + v * x[r + 1 + k]!, 0)) / ata[r]![r]!;
  return x;
}

/** A calibration run's fixed terms and the inputs of the fitted ones. */
function fitInputs(p: CalibrationMeasurement): { fixedMB: number; residualMB: number; weightsMB: number; layerMB: number; vocabMB: number } {
  const zero: Calibration = { baseMB: 0, setupWeightCopies: 0, weightCopies: 0, layerActivationBytes: 0, vocabActivationBytes: 0, rolloutMsPerToken: 0, rolloutMsPerTokenPerGB: 0, updateMsPerToken: 0, updateMsPerTokenPerMParam: 0, setupS: 0, setupSPerMParam: 0 };
  const trained = Math.max(...p.trainTokens);
  const seqLen = p.settings.promptTokens + p.settings.maxTokens;
  // The update's positions as trained (not the worst case the pre-flight assumes).
  const budget = p.settings.microBatchTokens;
  const positions = Math.min(trained, Math.max(seqLen, budget));
  // The kept residual stream is in the update's branch only (with zero coefficients the estimate's
  // max(set-up, update) is that term).
  const residualMB = residualBytes(p.shape, positions, budget) / MB;
  return {
    fixedMB: estimateRun(p.shape, p.settings, zero, positions).memory.totalMB - residualMB,
    residualMB,
    weightsMB: heldMB(p.shape),
    layerMB: (positions * layerUnits(p.shape, seqLen, budget)) / MB,
    vocabMB: (positions * headRows(p.shape)) / MB,
  };
}

/**
 * Fit the coefficients to calibration runs. Memory: each run peaks either while its sessions are
 * built (runtime + set-up weight copies) or during its update (runtime + the resident copies,
 * `resident`, + activations); runs are assigned to the branch the current fit says is larger and
 * each branch is refitted by least squares on relative error (each row divided by its
 * measurement, so a 300 MB run counts as much as a 6 GB one), until the assignment settles. The
 * fixed terms (llama.cpp's file and KV caches, LoRA state) are subtracted first, and activations
 * counted at the positions the update trained on. Time: ms per rollout token linear in the file
 * size, ms per trained token and set-up seconds linear in the parameter count.
 */
export function fitCalibration(points: readonly CalibrationMeasurement[], resident = CALIBRATION.weightCopies): Calibration {
  const x = points.map(fitInputs);
  let c = { baseMB: 200, setupWeightCopies: 8, layerActivationBytes: 16, vocabActivationBytes: 16 };
  const setupPeak = (i: number): number => c.baseMB + c.setupWeightCopies * x[i]!.weightsMB;
  const updatePeak = (i: number): number => c.baseMB + resident * x[i]!.weightsMB + x[i]!.residualMB + c.layerActivationBytes * x[i]!.layerMB + c.vocabActivationBytes * x[i]!.vocabMB;
  for (let iter = 0, previous: string | null = null; iter < 20; iter++) {
    const setup = points.map((_, i) => i).filter((i) => setupPeak(i) >= updatePeak(i));
    const update = points.map((_, i) => i).filter((i) => setupPeak(i) < updatePeak(i));
    const key = setup.join(",");
    if (key === previous) break;
    previous = key;
    if (setup.length >= 2) {
      const w = (i: number): number => 1 / points[i]!.peakRssMB;
      const [baseMB, copies] = leastSquares(setup.map((i) => [w(i), x[i]!.weightsMB * w(i)]), setup.map((i) => (points[i]!.peakRssMB - x[i]!.fixedMB) * w(i))) as [number, number];
      c = { ...c, baseMB, setupWeightCopies: copies };
    }
    if (update.length >= 2) {
      const w = (i: number): number => 1 / points[i]!.peakRssMB;
      const rest = update.map((i) => (points[i]!.peakRssMB - x[i]!.fixedMB - x[i]!.residualMB - c.baseMB - resident * x[i]!.weightsMB) * w(i));
      let [layer, vocab] = leastSquares(update.map((i) => [x[i]!.layerMB * w(i), x[i]!.vocabMB * w(i)]), rest) as [number, number];
      // A negative cost describes nothing the process holds: drop that term and refit the other.
      if (layer < 0) [layer, vocab] = [0, leastSquares(update.map((i) => [x[i]!.vocabMB * w(i)]), rest)[0]!];
      else if (vocab < 0) [layer, vocab] = [leastSquares(update.map((i) => [x[i]!.layerMB * w(i)]), rest)[0]!, 0];
      c = { ...c, layerActivationBytes: layer, vocabActivationBytes: vocab };
    }
  }
  const perToken = (ms: number[], tokens: number[]): number => ms.reduce((a, b) => a + b, 0) / Math.max(1, tokens.reduce((a, b) => a + b, 0));
  // Relative to each point (rows ÷ the measured value): a 3M model's 0.4 ms per token counts as much as a 494M model's 24.
  const relative = (xs: number[][], ys: number[]): number[] => leastSquares(xs.map((row, i) => row.map((v) => v / ys[i]!)), ys.map(() => 1));
  const [rolloutMsPerToken, rolloutMsPerTokenPerGB] = relative(points.map((p) => [1, p.shape.fileBytes / 2 ** 30]), points.map((p) => perToken(p.rolloutMs, p.rolloutTokens))) as [number, number];
  const [updateMsPerToken, updateMsPerTokenPerMParam] = relative(points.map((p) => [1, p.shape.parameters / 1e6]), points.map((p) => perToken(p.updateMs, p.trainTokens))) as [number, number];
  const [setupS, setupSPerMParam] = leastSquares(points.map((p) => [1, p.shape.parameters / 1e6]), points.map((p) => p.wallS - p.stepMs.reduce((a, b) => a + b, 0) / 1000)) as [number, number];
  return { ...c, weightCopies: resident, rolloutMsPerToken, rolloutMsPerTokenPerGB, updateMsPerToken, updateMsPerTokenPerMParam, setupS, setupSPerMParam };
}

/** The shape of a read GGUF file (llama / qwen2 / qwen3 keys; head width from key_length or dim / heads). */
export function modelShape(file: GgufFile): ModelShape {
  const arch = metaString(file, Keys.general.architecture, "llama");
  const a = (t: string): string => archKey(t, arch);
  const dim = metaNumber(file, a(Keys.llm.embeddingLength));
  const heads = metaNumber(file, a(Keys.attention.headCount));
  return {
    parameters: file.tensors.reduce((n, t) => n + t.elements, 0),
    fileBytes: file.fileSize,
    layers: metaNumber(file, a(Keys.llm.blockCount)),
    dim,
    ffn: metaNumber(file, a(Keys.llm.feedForwardLength)),
    heads,
    kvHeads: metaNumber(file, a(Keys.attention.headCountKv), heads),
    headDim: metaNumber(file, a(Keys.attention.keyLength), Math.floor(dim / heads)),
    vocab: metaArray(file, Keys.tokenizer.tokens)?.value.length ?? 0,
    contextLength: metaNumber(file, a(Keys.llm.contextLength), 4096),
    // As loadLlamaWeights holds them ("auto"): matrices not stored as F32 in float16.
    heldBytes: file.tensors.reduce((n, t) => n + t.elements * (t.dims.filter((d) => d !== 1).length >= 2 && t.type !== GgmlType.F32 ? 2 : 4), 0),
  };
}

/** The shape of the GGUF model at `path` (reads the header and tensor table). */
export function readModelShape(path: string): ModelShape {
  return modelShape(readGguf(path));
}

/** The shape from a model summary plus its file (the summary lacks the feed-forward width). */
export function shapeFromModelInfo(info: ModelInfo): ModelShape {
  return readModelShape(info.path);
}
