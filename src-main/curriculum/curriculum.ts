// The interface every curriculum implements, and the state they share. All curricula read the
// same per-prompt outcome summaries and recent window, so the scheduler can be switched mid-run
// without losing state. The state is bounded by the dataset: a run's full outcome and prediction
// history is appended to its history.jsonl (store/curriculum-store.ts), never held here.
import type { TaskRow } from "../datasets/task-row.js";
import type { PromptPick } from "../protocol/run-types.js";
import type { Rng } from "../util/rng.js";

/** What one rolled-out group showed. */
export interface Outcome {
  step: number;
  /** Population variance of the group's scored rewards. */
  variance: number;
  mean: number;
  samples: number;
}

/**
 * What the curricula decide from about one prompt: a summary of its outcomes that stays the same
 * size however often the prompt is rolled out (the full history is the run's history.jsonl).
 */
export interface PromptStats {
  /** Groups of it rolled out so far. */
  groups: number;
  /** Its newest outcome. */
  last: Outcome;
  /** Consecutive zero-variance groups ending with the newest (GRESO). */
  zeroStreak: number;
  /** Σ OUTCOME_DECAY^(last.step − s)·mean·samples over its outcomes: discounted successes as of last.step (MoPPS). */
  successes: number;
  /** The same sum of (1 − mean)·samples: discounted failures. */
  failures: number;
}

/** The curriculum state of a run: bounded by the dataset and the window, never by the run's length. JSON-serialisable. */
export interface CurriculumState {
  prompts: Record<string, PromptStats>;
  /** Outcomes in the order they were observed, newest last, at most `RECENT_LIMIT`: the METIS window and PCL's training set read it. */
  recent: { id: string; step: number; variance: number; mean: number }[];
  /** METIS with the paper's judgment update: the moving average of judgment rewards so far. */
  judgmentBaseline?: number | null;
}

/** How much an outcome one step older counts in a prompt's discounted successes (MoPPS's decay, a property of the shared state). */
export const OUTCOME_DECAY = 0.9;

/** Outcomes the recent window keeps (PCL fits on up to this many). */
export const RECENT_LIMIT = 256;

/** A judgment: the policy's completions for one candidate's judgment prompt. */
export interface Judgment {
  id: string;
  prompt: string;
  completions: { text: string; promptTokens: number[]; tokens: number[]; /** The sampler's log-probs of `tokens`, when asked for. */ logprobs?: number[]; /** Prompt tokens llama.cpp computed (the rest came from its cache). */ evaluatedPromptTokens?: number; /** All tokens llama.cpp computed for it (see Completion.evaluatedTokens). */ evaluatedTokens?: number; predicted: number | null }[];
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
  /** METIS with per-candidate examples: each judged candidate's examples' mean variance, by id. */
  examplesMean?: Record<string, number>;
  /** METIS: by chosen row id, whether the judge's ranking picked it ("judge") or exploration did ("explore"). */
  picks?: Record<string, PromptPick>;
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

/** Record a rolled-out group's outcome. `recentLimit` bounds the window kept. */
export function recordOutcome(state: CurriculumState, id: string, outcome: Outcome, recentLimit = RECENT_LIMIT): void {
  const prev = state.prompts[id];
  // Discount what was known to this outcome's step, then add it (the outcome's own weight is 1).
  const w = prev ? OUTCOME_DECAY ** Math.max(0, outcome.step - prev.last.step) : 0;
  state.prompts[id] = {
    groups: (prev?.groups ?? 0) + 1,
    last: { ...outcome },
    zeroStreak: outcome.variance === 0 ? (prev?.zeroStreak ?? 0) + 1 : 0,
    successes: w * (prev?.successes ?? 0) + outcome.mean * outcome.samples,
    failures: w * (prev?.failures ?? 0) + (1 - outcome.mean) * outcome.samples,
  };
  state.recent.push({ id, step: outcome.step, variance: outcome.variance, mean: outcome.mean });
  if (state.recent.length > recentLimit) state.recent.splice(0, state.recent.length - recentLimit);
}

/** `n` rows drawn uniformly without replacement. */
export function sampleRows(pool: readonly TaskRow[], n: number, rng: Rng): TaskRow[] {
  return rng.shuffle([...pool]).slice(0, Math.min(n, pool.length));
}
