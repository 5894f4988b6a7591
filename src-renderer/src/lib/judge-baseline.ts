// How good METIS's judge is, against the simplest judge there is: one that predicts, for every
// candidate, the mean observed variance of the examples it was shown (the step's in-context
// examples, or the candidate's own where METIS picks examples per candidate). Both are scored
// on the same judged, rolled-out prompts; a judge that does not beat this baseline ranks
// prompts no better than a constant.

/** What a step records about its judgments (a subset of StepMetrics). */
export interface JudgedStep {
  step: number;
  cells: readonly { predicted: number | null; variance: number; examplesMean?: number }[];
  judgmentExamples: readonly { variance: number }[];
}

/** Mean |error| of the judge and of the predict-the-mean baseline over `pairs` judged prompts. */
export interface JudgeVsMean {
  pairs: number;
  judge: number;
  baseline: number;
}

/** The judged pairs of a step with the baseline's prediction (null when the step showed no examples). */
function pairsOf(s: JudgedStep): { predicted: number; observed: number; mean: number }[] {
  const shared = s.judgmentExamples.length > 0 ? s.judgmentExamples.reduce((a, e) => a + e.variance, 0) / s.judgmentExamples.length : null;
  // A cell that records its own examples' mean ("similar" examples) is compared with that.
  return s.cells.flatMap((c) => {
    const mean = c.examplesMean ?? shared;
    return c.predicted !== null && mean !== null ? [{ predicted: c.predicted, observed: c.variance, mean }] : [];
  });
}

/** Judge and baseline |error| pooled over `steps` (null when no step has a judged pair with examples). */
export function judgeVsMean(steps: readonly JudgedStep[]): JudgeVsMean | null {
  const pairs = steps.flatMap(pairsOf);
  if (pairs.length === 0) return null;
  const judge = pairs.reduce((a, p) => a + Math.abs(p.predicted - p.observed), 0) / pairs.length;
  const baseline = pairs.reduce((a, p) => a + Math.abs(p.mean - p.observed), 0) / pairs.length;
  return { pairs: pairs.length, judge, baseline };
}

/** Per step: the judge's and the baseline's |error| (null at steps with no judged pair). */
export function judgeVsMeanSeries(steps: readonly JudgedStep[]): { judge: (number | null)[]; baseline: (number | null)[] } {
  const each = steps.map((s) => judgeVsMean([s]));
  return { judge: each.map((e) => e?.judge ?? null), baseline: each.map((e) => e?.baseline ?? null) };
}
