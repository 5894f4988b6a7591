import { describe, expect, it } from "vitest";
import { judgePicks, judgePicksLine, type PickedStep } from "./judge-picks.js";
import type { PromptPick } from "./run-types.js";

const cell = (pick: PromptPick | undefined, predicted: number | null, variance: number) => ({ predicted, variance, ...(pick ? { pick } : {}) });

// Two steps. Judge picks: variances 0.25, 0, 0.1875 (2 of 3 with signal); explored: 0, 0.09, 0
// (1 of 3); one explored prompt has no prediction, so 5 judged pairs.
const twoSteps: PickedStep[] = [
  { cells: [cell("judge", 0.2, 0.25), cell("judge", 0.15, 0), cell("explore", 0.05, 0)] },
  { cells: [cell("judge", 0.18, 0.1875), cell("explore", 0.02, 0.09), cell("explore", null, 0)] },
];

describe("judge picks against exploration picks", () => {
  it("counts groups with signal and the mean variance per side, and ranks all judged pairs of the window together", () => {
    const p = judgePicks(twoSteps)!;
    expect(p.steps).toBe(2);
    expect(p.judge).toEqual({ groups: 3, withSignal: 2, signalShare: 2 / 3, meanVariance: expect.closeTo((0.25 + 0 + 0.1875) / 3, 12) as number });
    expect(p.explore).toEqual({ groups: 3, withSignal: 1, signalShare: 1 / 3, meanVariance: expect.closeTo(0.09 / 3, 12) as number });
    // Predicted ranks (0.2, 0.15, 0.05, 0.18, 0.02) → 5, 3, 2, 4, 1; observed (0.25, 0, 0, 0.1875,
    // 0.09) → 5, 1.5, 1.5, 4, 3 (the tie shares its average rank). Deviations from the mean rank 3:
    // Σdx·dy = 4 + 0 + 1.5 + 1 + 0 = 6.5, Σdx² = 10, Σdy² = 9.5, so ρ = 6.5 / √95. (The judge's
    // picks alone would rank perfectly, ρ = 1: the pooled ρ is not theirs.)
    expect(p.pairs).toBe(5);
    expect(p.spearman).toBeCloseTo(6.5 / Math.sqrt(95), 12);
    expect(judgePicksLine(p)).toBe("judge picks 67 % with signal (2/3) vs 33 % explored (1/3), last 2 steps");
  });

  it("reads only the last `window` steps (10 by default)", () => {
    // Two early steps where the judge's picks all had signal, then ten where only exploration's did.
    const early: PickedStep = { cells: [cell("judge", 0.2, 0.25), cell("judge", 0.2, 0.25)] };
    const late: PickedStep = { cells: [cell("judge", 0.2, 0), cell("explore", 0.1, 0.25)] };
    const p = judgePicks([early, early, ...Array.from({ length: 10 }, () => late)])!;
    expect(p.steps).toBe(10);
    expect(p.judge).toEqual({ groups: 10, withSignal: 0, signalShare: 0, meanVariance: 0 });
    expect(p.explore).toEqual({ groups: 10, withSignal: 10, signalShare: 1, meanVariance: 0.25 });
    expect(p.pairs).toBe(20);
    expect(p.spearman).toBeCloseTo(-1, 12);
    const three = judgePicks([early, early, late], 3)!;
    expect(three.judge).toMatchObject({ groups: 5, withSignal: 4, signalShare: 0.8 });
    expect(three.explore).toMatchObject({ groups: 1, withSignal: 1, signalShare: 1 });
    expect(judgePicksLine(three)).toBe("judge picks 80 % with signal (4/5) vs 100 % explored (1/1), last 3 steps");
  });

  it("gives null parts for a side without groups, and a null ρ under 3 pairs", () => {
    // No exploration share (the paper's preset): nothing to compare the judge's picks with.
    const p = judgePicks([{ cells: [cell("judge", 0.1, 0.25), cell("judge", 0.2, 0)] }])!;
    expect(p.explore).toEqual({ groups: 0, withSignal: 0, signalShare: null, meanVariance: null });
    expect(p.judge).toEqual({ groups: 2, withSignal: 1, signalShare: 0.5, meanVariance: 0.125 });
    expect(p.pairs).toBe(2);
    expect(p.spearman).toBeNull();
    expect(judgePicksLine(p)).toBe("judge picks 50 % with signal (1/2), none explored, last 1 step");
  });

  it("is null without METIS steps; a run recorded before picks were kept still has its pooled ρ but no line", () => {
    expect(judgePicks([])).toBeNull();
    expect(judgePicks([{ cells: [cell(undefined, null, 0.25), cell(undefined, null, 0)] }])).toBeNull();
    expect(judgePicksLine(null)).toBeNull();
    const old = judgePicks([{ cells: [cell(undefined, 0.1, 0), cell(undefined, 0.2, 0.1), cell(undefined, 0.3, 0.2)] }])!;
    expect(old.judge.groups + old.explore.groups).toBe(0);
    expect(old.spearman).toBeCloseTo(1, 12);
    expect(judgePicksLine(old)).toBeNull();
  });
});
