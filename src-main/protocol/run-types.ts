// What a run reports each step: shared by the engine (which writes it) and the renderer (which draws it).

/**
 * Why METIS rolled a prompt out: "judge" for the top-ranked candidates (the judge's picks),
 * "explore" for those drawn uniformly from the rest (the exploration share).
 */
export type PromptPick = "judge" | "explore";

/** One prompt's row in a step's record (the heatmap's cell). */
export interface PromptCell {
  id: string;
  mean: number;
  variance: number;
  predicted: number | null;
  /** METIS: whether the judge picked it or exploration did; absent for other curricula and in runs recorded before it was. */
  pick?: PromptPick;
  /** METIS: mean variance of the in-context examples its judgment prompt showed (absent where every prompt of the step showed the same, `judgmentExamples`). */
  examplesMean?: number;
}

/** What one step reports. */
export interface StepMetrics {
  step: number;
  scheduler: string;
  rewardMean: number;
  passRate: number;
  /** Share of rolled-out groups whose rewards were all equal (no gradient). */
  zeroVarianceShare: number;
  loss: number;
  gradNorm: number;
  clipFrac: number;
  learningRate: number;
  rolloutTokens: number;
  rolloutTokensPerSecond: number;
  stepMs: number;
  /** METIS: mean |predicted − observed| over chosen prompts with a prediction. */
  judgeAbsError: number | null;
  /**
   * METIS: Spearman rank correlation of predicted and observed variance over this step's judged,
   * rolled-out prompts (null when undefined). Range-restricted: most of those prompts are the
   * judge's top picks, so their predictions span a narrow range and this reads near 0 even for a
   * judge that ranks the whole candidate pool well. Kept for older readers; what to show instead
   * is judgePicks (judge-picks.ts): judge picks against exploration picks over the last steps.
   */
  judgeSpearman: number | null;
  judgeParseFailures: number;
  /** DAPO: completions rolled out and then dropped. */
  wastedRollouts: number;
  cells: PromptCell[];
  /** Held-out pass rate and mean reward, on the steps where they were measured (else null). */
  heldOutPassRate: number | null;
  heldOutReward: number | null;
  /** METIS: the in-context examples of this step's judgment prompts (item text shortened). */
  judgmentExamples: { prompt: string; variance: number }[];
  info: Record<string, number>;
}

