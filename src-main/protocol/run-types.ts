// What a run reports each step: shared by the engine (which writes it) and the renderer (which draws it).

/** One prompt's row in a step's record (the heatmap's cell). */
export interface PromptCell {
  id: string;
  mean: number;
  variance: number;
  predicted: number | null;
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
  /** METIS: Spearman rank correlation of predicted and observed variance over this step's judged, rolled-out prompts (null when undefined). */
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

