// Is METIS's judge worth its tokens? Its picks against exploration's, over the last steps: pure,
// no Node or DOM (the CLI and the run view both read it).
//
// One step's Spearman ρ of predicted and observed variance (StepMetrics.judgeSpearman) is taken
// over the prompts rolled out, which are mostly the judge's top picks: their predictions span a
// narrow range, so ρ reads near 0 even for a judge that ranks the whole candidate pool well. The
// exploration share (drawn uniformly from the candidates the judge did not pick) is a control
// group instead: if the judge ranks well, its picks have learning signal (reward variance > 0)
// more often than the explored ones.
import type { PromptCell, PromptPick } from "./run-types.js";
import { spearman } from "../util/stats.js";

/** Steps the comparison pools: one step holds only a handful of explored groups. */
export const JUDGE_PICKS_WINDOW = 10;

/** The groups of one side (judge picks or exploration picks). */
export interface PickSide {
  /** Groups rolled out from this side in the window. */
  groups: number;
  /** Those whose observed reward variance was above 0 (a learning signal). */
  withSignal: number;
  /** withSignal / groups; null when the side has no group. */
  signalShare: number | null;
  /** Mean observed reward variance of its groups; null when it has none. */
  meanVariance: number | null;
}

/** Judge picks against exploration picks over the window. */
export interface JudgePicks {
  /** Steps in the window (at most the window asked for). */
  steps: number;
  judge: PickSide;
  explore: PickSide;
  /** Judged, rolled-out prompts (judge and exploration picks together) the ρ is taken over. */
  pairs: number;
  /** Spearman ρ of predicted and observed variance over those pairs; null when undefined (fewer than 3, or either side constant). */
  spearman: number | null;
}

/** What the comparison reads of a step (a subset of StepMetrics). */
export interface PickedStep {
  cells: readonly Pick<PromptCell, "variance" | "predicted" | "pick">[];
}

function side(cells: readonly { variance: number }[]): PickSide {
  const withSignal = cells.filter((c) => c.variance > 0).length;
  return {
    groups: cells.length,
    withSignal,
    signalShare: cells.length === 0 ? null : withSignal / cells.length,
    meanVariance: cells.length === 0 ? null : cells.reduce((a, c) => a + c.variance, 0) / cells.length,
  };
}

/**
 * The comparison over the last `window` steps of `metrics` (oldest first). Null when no cell of
 * the window was picked by METIS nor judged (another curriculum, or no step yet). Runs recorded
 * before picks were kept have no picks but still their judged pairs, so their ρ is given.
 */
export function judgePicks(metrics: readonly PickedStep[], window = JUDGE_PICKS_WINDOW): JudgePicks | null {
  const steps = metrics.slice(-window);
  const cells = steps.flatMap((m) => m.cells);
  const of = (pick: PromptPick) => cells.filter((c) => c.pick === pick);
  const judged = cells.filter((c): c is typeof c & { predicted: number } => c.predicted !== null);
  const judge = of("judge"), explore = of("explore");
  if (judge.length + explore.length + judged.length === 0) return null;
  return {
    steps: steps.length,
    judge: side(judge),
    explore: side(explore),
    pairs: judged.length,
    spearman: spearman(judged.map((c) => c.predicted), judged.map((c) => c.variance)),
  };
}

/**
 * "judge picks 78 % with signal (25/32) vs 50 % explored (4/8), last 10 steps"; null when
 * neither side has a group (not METIS, or a run recorded before picks were kept).
 */
export function judgePicksLine(p: JudgePicks | null): string | null {
  if (!p || (p.judge.groups === 0 && p.explore.groups === 0)) return null;
  const pct = (x: number): string => `${Math.round(x * 100)} %`;
  const span = `last ${p.steps} step${p.steps === 1 ? "" : "s"}`;
  const { judge: j, explore: e } = p;
  if (j.signalShare === null) return `no judge picks, ${pct(e.signalShare!)} explored with signal (${e.withSignal}/${e.groups}), ${span}`;
  const head = `judge picks ${pct(j.signalShare)} with signal (${j.withSignal}/${j.groups})`;
  return e.signalShare === null ? `${head}, none explored, ${span}` : `${head} vs ${pct(e.signalShare)} explored (${e.withSignal}/${e.groups}), ${span}`;
}
