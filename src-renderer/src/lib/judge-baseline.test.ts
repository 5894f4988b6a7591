import { describe, expect, it } from "vitest";
import { judgeVsMean, judgeVsMeanSeries } from "./judge-baseline";

const examples = (...v: number[]) => v.map((variance) => ({ variance }));

describe("judge against predict-the-mean", () => {
  it("scores both on the same judged pairs; the baseline predicts the mean of the step's examples", () => {
    // Examples' mean 0.1. Judged: (0.2 → 0.25), (0.0 → 0.0); one cell was not judged.
    const r = judgeVsMean([{ step: 1, judgmentExamples: examples(0, 0.2, 0.1), cells: [{ predicted: 0.2, variance: 0.25 }, { predicted: 0, variance: 0 }, { predicted: null, variance: 0.25 }] }]);
    expect(r).not.toBeNull();
    expect(r!.pairs).toBe(2);
    expect(r!.judge).toBeCloseTo((0.05 + 0) / 2);
    expect(r!.baseline).toBeCloseTo((0.15 + 0.1) / 2);
  });

  it("pools steps, each with its own examples' mean", () => {
    const r = judgeVsMean([
      { step: 1, judgmentExamples: examples(0.2), cells: [{ predicted: 0.1, variance: 0.2 }] },
      { step: 2, judgmentExamples: examples(0), cells: [{ predicted: 0.1, variance: 0.2 }] },
    ]);
    expect(r!.judge).toBeCloseTo(0.1);
    expect(r!.baseline).toBeCloseTo((0 + 0.2) / 2);
  });

  it("leaves out steps with no examples (nothing for the baseline to average) and says when nothing is left", () => {
    const noExamples = { step: 1, judgmentExamples: [], cells: [{ predicted: 0.1, variance: 0.2 }] };
    expect(judgeVsMean([noExamples])).toBeNull();
    expect(judgeVsMean([{ step: 2, judgmentExamples: examples(0.1), cells: [{ predicted: null, variance: 0.2 }] }])).toBeNull();
    const s = judgeVsMeanSeries([noExamples, { step: 2, judgmentExamples: examples(0.1), cells: [{ predicted: 0.1, variance: 0.1 }] }]);
    expect(s.judge).toEqual([null, 0]);
    expect(s.baseline[0]).toBeNull();
    expect(s.baseline[1]).toBeCloseTo(0);
  });

  it("compares a cell that records its own examples' mean with that (METIS's per-candidate examples)", () => {
    const r = judgeVsMean([{ step: 1, judgmentExamples: examples(0.2), cells: [{ predicted: 0.1, variance: 0.2, examplesMean: 0.05 }, { predicted: 0.1, variance: 0, examplesMean: 0 }] }]);
    expect(r!.pairs).toBe(2);
    expect(r!.baseline).toBeCloseTo((0.15 + 0) / 2);
    // With no shared examples, cells with their own still count.
    expect(judgeVsMean([{ step: 1, judgmentExamples: [], cells: [{ predicted: 0.1, variance: 0.2, examplesMean: 0.2 }] }])!.baseline).toBeCloseTo(0);
  });
});
