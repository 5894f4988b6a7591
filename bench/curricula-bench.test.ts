import { describe, expect, it } from "vitest";
import { compareToUniform, mergeSeedRuns, toTarget, trailingMean } from "./curricula-bench.js";

const point = (step: number, passRate: number) => ({ step, passRate, seconds: step, rollouts: step * 64, tokens: 0, byFamily: {} });

describe("curricula bench comparison", () => {
  it("trailing mean averages the last evaluations, from the first full window on", () => {
    const out = trailingMean([point(5, 0.3), point(10, 0.6), point(15, 0.3), point(20, 0.6)], 3);
    expect(out.map((p) => p.step)).toEqual([15, 20]);
    expect(out[0]!.passRate).toBeCloseTo(0.4, 9);
    expect(out[1]!.passRate).toBeCloseTo(0.5, 9);
  });

  it("a single lucky evaluation sets uniform's raw best but not its smoothed best", () => {
    // Uniform: one spike to 0.40 at step 10, otherwise 0.30–0.33; the other curriculum climbs steadily to 0.36.
    const uniform = [point(5, 0.3), point(10, 0.4), point(15, 0.31), point(20, 0.32), point(25, 0.33), point(30, 0.33)];
    const steady = [point(5, 0.3), point(10, 0.32), point(15, 0.34), point(20, 0.35), point(25, 0.36), point(30, 0.36)];
    const [row] = compareToUniform(["uniform", "steady"], [1], { uniform: { 1: uniform }, steady: { 1: steady } }, { uniform: [1], steady: [2] });
    expect(row).toMatchObject({ scheduler: "steady", uniformBestStep: 10, reachedAtStep: null, stepTimeRatio: 2 });
    // Smoothed over 3 evaluations uniform's best is 0.343 (steps 10–20); the steady one's mean passes it at step 25 (0.35).
    const smoothed = (row as { smoothed: Record<string, number | null> }).smoothed;
    expect(smoothed).toMatchObject({ evaluations: 3, uniformBestStep: 20, reachedAtStep: 25, stepRatio: 1.25, timeRatio: 1.25, rolloutRatio: 1.25 });
    expect(smoothed.uniformBestLevel).toBeCloseTo(0.343, 3);
  });

  it("steps to a target count only the seeds that reach it, at their first evaluation at or above it", () => {
    const bySeed = { 1: [point(5, 0.2), point(10, 0.31), point(15, 0.3)], 2: [point(5, 0.3), point(10, 0.29), point(15, 0.28)], 3: [point(5, 0.2), point(10, 0.25), point(15, 0.32)] };
    const out = toTarget(bySeed, [1, 2, 3], 0.31);
    expect(out.seedsReachingTarget).toBe(2);
    expect(out.toTarget.steps).toEqual({ mean: 12.5, sd: 2.5 });
    expect(out.toTarget.rollouts).toEqual({ mean: 800, sd: 160 });
    expect(toTarget(bySeed, [2], 0.31)).toEqual({ seedsReachingTarget: 0, toTarget: { steps: null, seconds: null, rollouts: null, tokens: null } });
  });

  it("a run with fewer evaluations than the smoothing window compares raw levels and has no smoothed ones", () => {
    const [row] = compareToUniform(["uniform", "metis"], [1], { uniform: { 1: [point(1, 0.2), point(2, 0.3)] }, metis: { 1: [point(1, 0.2), point(2, 0.31)] } }, { uniform: [1], metis: [1] });
    expect(row).toMatchObject({ reachedAtStep: 2, smoothed: { evaluations: 3, uniformBestLevel: null, reachedAtStep: null } });
  });
});

describe("merging runs over disjoint seeds", () => {
  const run = (seeds: number[], finals: Record<number, number>, secondsPerStep: number) => ({
    steps: 10, evalEvery: 5, evalItems: 4, evalSamples: 2, model: "m", group: 8, maxTokens: 96, batch: 8, target: 0.3,
    seeds,
    curves: { uniform: Object.fromEntries(seeds.map((s) => [s, [point(5, 0.2), { ...point(10, finals[s]!), byFamily: { code: finals[s]! } }]])) },
    summary: [{ scheduler: "uniform", secondsPerStep, perStep: { judgeS: 0, rolloutS: secondsPerStep / 2, updateS: 0.1, rolloutTokens: 100, signalGroups: 4 }, judgeSpearmanSecondHalf: null }],
  });

  it("joins the curves, recomputes finals from them and weighs step times by seeds", () => {
    const merged = mergeSeedRuns([run([1, 2], { 1: 0.3, 2: 0.4 }, 1), run([3], { 3: 0.5 }, 4)]);
    expect(merged.seeds).toEqual([1, 2, 3]);
    expect(Object.keys(merged.curves.uniform!)).toEqual(["1", "2", "3"]);
    const row = merged.summary[0]!;
    expect(row.finalPassRate).toEqual({ mean: 0.4, sd: 0.082 });
    expect(row.byFamilyFinal).toEqual({ code: 0.4 });
    expect(row.secondsPerStep).toBe(2); // (2 × 1 + 1 × 4) / 3
    expect((row.perStep as Record<string, number>).rolloutS).toBe(1);
    expect(row.secondsPerSignalGroup).toBe(0.5);
    expect(row.judgeSpearmanSecondHalfByRun).toEqual([null, null]);
  });

  it("refuses overlapping seeds, other curricula or runs not alike, naming the file", () => {
    expect(() => mergeSeedRuns([run([1, 2], { 1: 0.3, 2: 0.4 }, 1), run([2], { 2: 0.5 }, 1)], ["a.json", "b.json"])).toThrow("b.json: seed 2 is in an earlier file too");
    const other = { ...run([3], { 3: 0.5 }, 1), summary: [{ scheduler: "metis", secondsPerStep: 1 }] };
    expect(() => mergeSeedRuns([run([1], { 1: 0.3 }, 1), other], ["a.json", "b.json"])).toThrow("b.json: curricula metis, a.json has uniform");
    expect(() => mergeSeedRuns([run([1], { 1: 0.3 }, 1), { ...run([3], { 3: 0.5 }, 1), steps: 20 }], ["a.json", "b.json"])).toThrow("b.json: steps is 20, a.json has 10");
  });
});
