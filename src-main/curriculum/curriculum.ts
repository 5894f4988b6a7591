// The interface every curriculum implements, and the state they share. All curricula read the
// same per-prompt outcome history, so the scheduler can be switched mid-run without losing state.
import type { TaskRow } from "../datasets/task-row.js";
import type { Rng } from "../util/rng.js";

/** What one rolled-out group showed. */
export interface Outcome {
  step: number;
  /** Population variance of the group's scored rewards. */
  variance: number;
  mean: number;
  samples: number;
}

/** Per-prompt state: outcome history and METIS predictions. JSON-serialisable. */
export interface PromptRecord {
  outcomes: Outcome[];
  predictions: { step: number; predicted: number | null }[];
}

/** The curriculum state of a run. */
export interface CurriculumState {
  prompts: Record<string, PromptRecord>;
  /** Outcomes in the order they were observed (ids), newest last: the METIS window reads it. */
  recent: { id: string; step: number; variance: number }[];
  /** METIS with the paper's judgment update: the moving average of judgment rewards so far. */
  judgmentBaseline?: number | null;
}

/** A judgment: the policy's completions for one candidate's judgment prompt. */
export interface Judgment {
  id: string;
  prompt: string;
  completions: { text: string; promptTokens: number[]; tokens: number[]; predicted: number | null }[];
  /** Mean of the parsed predictions; null when none parsed. */
  predicted: number | null;
}

/** What the loop lends a curriculum. */
export interface SelectContext {
  step: number;
  rng: Rng;
  /** Prompts to roll out this step. */
  batchSize: number;
  /** Ask the policy to judge candidates (METIS); absent for curricula that do not need it. */
  judge: (prompts: { id: string; prompt: string }[]) => Promise<Judgment[]>;
  /** The policy model's embedding of each prompt (PCL's value head reads it); absent where not offered. */
  embed?: (prompts: string[]) => Promise<number[][]>;
}

/** A curriculum's choice for one step. */
export interface Selection {
  /** Rows to roll out. */
  chosen: TaskRow[];
  /** DAPO-style: keep only groups whose rewards are not all equal, refilling from `reserve`. */
  filterZeroVariance?: boolean;
  reserve?: TaskRow[];
  /** METIS: the judgments made this step (for the joint objective and the UI). */
  judgments?: Judgment[];
  /** METIS: the in-context examples the judgment prompts showed. */
  examples?: { prompt: string; variance: number }[];
  /** Counters for metrics, namespaced (e.g. "metis/parseFailures"). */
  info: Record<string, number>;
}

/** A curriculum: chooses prompts from a pool given the shared state. */
export interface Curriculum {
  readonly name: string;
  select(pool: readonly TaskRow[], state: CurriculumState, ctx: SelectContext): Promise<Selection>;
}

/** An empty state. */
export function emptyCurriculumState(): CurriculumState {
  return { prompts: {}, recent: [] };
}

/** Record a rolled-out group's outcome. `recentLimit` bounds the window history kept. */
export function recordOutcome(state: CurriculumState, id: string, outcome: Outcome, recentLimit = 256): void {
  const rec = (state.prompts[id] ??= { outcomes: [], predictions: [] });
  rec.outcomes.push(outcome);
  state.recent.push({ id, step: outcome.step, variance: outcome.variance });
  if (state.recent.length > recentLimit) state.recent.splice(0, state.recent.length - recentLimit);
}

/** Record a METIS prediction for a prompt. */
export function recordPrediction(state: CurriculumState, id: string, step: number, predicted: number | null): void {
  (state.prompts[id] ??= { outcomes: [], predictions: [] }).predictions.push({ step, predicted });
}

/** `n` rows drawn uniformly without replacement. */
export function sampleRows(pool: readonly TaskRow[], n: number, rng: Rng): TaskRow[] {
  return rng.shuffle([...pool]).slice(0, Math.min(n, pool.length));
}
