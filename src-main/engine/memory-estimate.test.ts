// The pre-flight estimate: grows as it should with each setting and with the model's shape, and
// matches the runs of the current engine (bench/results/preflight-2026-11-26T10-36-32-878Z.json,
// block-by-block training included) within a stated tolerance; the fit recovers coefficients
// from data it generated.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CALIBRATION, estimateRun, fitCalibration, type CalibrationMeasurement, type EstimateSettings, type ModelShape } from "./memory-estimate.js";

const shape: ModelShape = { parameters: 358e6, fileBytes: 716e6, layers: 24, dim: 896, ffn: 4864, heads: 14, kvHeads: 2, headDim: 64, vocab: 258, contextLength: 32_768 };
const settings: EstimateSettings = { batchSize: 2, groupSize: 4, maxTokens: 32, loraRank: 16, microBatchTokens: 8192, promptTokens: 40 };
const total = (s: Partial<EstimateSettings> = {}, m: Partial<ModelShape> = {}): number => estimateRun({ ...shape, ...m }, { ...settings, ...s }).memory.totalMB;

/** Calibration runs: measured peak RSS against the estimate at the positions each update trained on. */
interface CalibrationFile {
  /** `outsideModel`: a measured run the estimate's terms do not describe, with why (reported, not hidden). */
  points: (CalibrationMeasurement & { name: string; fit: boolean; outsideModel?: string })[];
}
const calibration = JSON.parse(readFileSync(fileURLToPath(new URL("../../bench/results/preflight-2026-11-26T10-36-32-878Z.json", import.meta.url)), "utf8")) as CalibrationFile;
/**
 * The estimate's accuracy on those runs, at the tokens each update trained on: −49 % to +138 %
 * (the memory terms were fitted to the one-graph engine's runs; small models are over-estimated
 * by the fixed base, micro-batched updates under-estimated). Wide, and stated so: a guide for the
 * refusal, not a measurement.
 */
const ESTIMATE_TOLERANCE = 1.4;
/** The pre-flight's own estimate (a full update at the longest lengths) never below half the measured peak. */
const MOST_UNDER = 0.5;

describe("memory estimate", () => {
  it("grows with batch, group, Max tokens, LoRA rank, vocabulary and parameters", () => {
    // The settings move the update's side of the peak (this shape's small batch peaks at set-up).
    const update = (x: Partial<EstimateSettings> = {}): number => {
      const m = estimateRun(shape, { ...settings, ...x }).memory;
      return m.weightsMB + m.activationsMB + m.loraMB + m.kvCacheMB;
    };
    expect(update({ batchSize: 4 })).toBeGreaterThan(update());
    expect(update({ groupSize: 8 })).toBeGreaterThan(update());
    expect(update({ maxTokens: 256 })).toBeGreaterThan(update());
    expect(update({ loraRank: 64 })).toBeGreaterThan(update());
    expect(total({ batchSize: 64, maxTokens: 512 })).toBeGreaterThanOrEqual(total());
    // The vocabulary grows the update's activations (this shape's small batch peaks at set-up).
    const activations = (m: Partial<ModelShape>): number => estimateRun({ ...shape, ...m }, settings).memory.activationsMB;
    expect(activations({ vocab: 151_936 })).toBeGreaterThan(activations({}));
    expect(total({}, { parameters: 2 * shape.parameters })).toBeGreaterThan(total() + 1000);
  });

  it("counts the LM head's logits over one vocabulary chunk, and the weights once (a reference policy shares them)", () => {
    // The head runs in 4 096-row chunks: a 151 936-token vocabulary costs what 4 096 tokens do.
    const activations = (vocab: number): number => estimateRun({ ...shape, vocab }, settings).memory.activationsMB;
    expect(activations(151_936)).toBeCloseTo(activations(4096), 6);
    expect(activations(4096)).toBeGreaterThan(activations(1024));
    expect(total({ klCoef: 0.1 })).toBeCloseTo(total(), 6);
    // Weights held as float16 (a non-F32 GGUF) cost half of float32 ones.
    const held = (bytesPerParameter: number): number => estimateRun({ ...shape, heldBytes: bytesPerParameter * shape.parameters }, settings).memory.weightsMB;
    expect(held(2)).toBeCloseTo(held(4) / 2, 6);
  });

  it("stops growing with batch × tokens once the micro-batch budget is full, and a smaller budget lowers it", () => {
    // The update's activations (this shape may peak at set-up, where settings change nothing).
    const activations = (s: Partial<EstimateSettings>, m: Partial<ModelShape> = {}): number => estimateRun({ ...shape, ...m }, { ...settings, ...s }).memory.activationsMB;
    const full = activations({ batchSize: 64, maxTokens: 512 });
    expect(activations({ batchSize: 128, maxTokens: 512 })).toBeCloseTo(full, 6);
    expect(activations({ batchSize: 64, maxTokens: 512, microBatchTokens: 1024 })).toBeLessThan(full - 100);
    // A small model trains as one graph with every layer's activations alive: the same positions cost more per layer.
    const small = { parameters: 20e6, fileBytes: 40e6, heldBytes: 40e6, layers: 8, dim: 512, ffn: 1408, heads: 8, kvHeads: 2, headDim: 64 };
    expect(activations({ microBatchTokens: 1024 }, small)).toBeGreaterThan(activations({ microBatchTokens: 1024 }, { ...small, heldBytes: 300 * 2 ** 20 }));
  });

  it("block by block (held weights over 256 MiB): micro-batches capped by one block's activations, whatever the budget above it", () => {
    const f16 = { heldBytes: 2 * shape.parameters };
    const long = { batchSize: 64, maxTokens: 512 };
    const at = (microBatchTokens: number): number => estimateRun({ ...shape, ...f16 }, { ...settings, ...long, microBatchTokens }).microBatchPositions;
    expect(at(1_048_576)).toBe(at(8192));
    expect(at(8192)).toBeLessThan(8192);
    expect(at(1024)).toBeLessThan(at(8192));
  });

  it("time per step grows with tokens and model size", () => {
    const t = (s: Partial<EstimateSettings>, m: Partial<ModelShape> = {}): number => estimateRun({ ...shape, ...m }, { ...settings, ...s }).time.stepSeconds;
    expect(t({ maxTokens: 64 })).toBeGreaterThan(t({}));
    expect(t({ batchSize: 4 })).toBeGreaterThan(t({}));
    expect(t({}, { parameters: 2 * shape.parameters, fileBytes: 2 * shape.fileBytes })).toBeGreaterThan(t({}));
  });

  it(`matches every calibration run within ${ESTIMATE_TOLERANCE * 100} % (fitted and held-out points)`, () => {
    expect(calibration.points.some((p) => !p.fit && !p.outsideModel)).toBe(true);
    expect(calibration.points.filter((p) => p.outsideModel).map((p) => p.name)).toEqual([]);
    for (const p of calibration.points.filter((q) => !q.outsideModel)) {
      const seqLen = p.settings.promptTokens + p.settings.maxTokens;
      const budget = p.settings.microBatchTokens;
      const positions = Math.min(Math.max(...p.trainTokens), Math.max(seqLen, budget));
      const estimated = estimateRun(p.shape, p.settings, CALIBRATION, positions).memory.totalMB;
      expect({ name: p.name, error: Math.abs(estimated / p.peakRssMB - 1) <= ESTIMATE_TOLERANCE }).toEqual({ name: p.name, error: true });
      // The pre-flight's own estimate (a full update at the longest lengths) does not fall short.
      expect(estimateRun(p.shape, p.settings).memory.totalMB).toBeGreaterThan(p.peakRssMB * MOST_UNDER);
    }
  });

  it("the fit recovers the coefficients of data it generated (set-up and update peaks)", () => {
    // One held copy, as the engine keeps; updates within the policy's micro-batch cap (331–827
    // positions for these shapes), so some points peak at set-up and some in their update.
    const truth = { ...CALIBRATION, baseMB: 250, setupWeightCopies: 1.5, weightCopies: 1, layerActivationBytes: 30, vocabActivationBytes: 12 };
    const points: CalibrationMeasurement[] = [100e6, 300e6, 20e6, 50e6].flatMap((parameters, i) => [64, 320].map((tokens) => {
      const s = { ...shape, parameters, fileBytes: 2 * parameters, layers: 8 + 4 * i, vocab: i % 2 ? 32_000 : 258 };
      const set = { ...settings, microBatchTokens: 8192 };
      const peak = estimateRun(s, set, truth, tokens).memory.totalMB;
      return { shape: s, settings: set, peakRssMB: peak, wallS: 10, stepMs: [1000], rolloutMs: [500], rolloutTokens: [100], updateMs: [500], trainTokens: [tokens] };
    }));
    const fit = fitCalibration(points, 1);
    expect(fit.baseMB).toBeCloseTo(250, 3);
    expect(fit.setupWeightCopies).toBeCloseTo(1.5, 5);
    expect(fit.layerActivationBytes).toBeCloseTo(30, 3);
    expect(fit.vocabActivationBytes).toBeCloseTo(12, 3);
  });
});
