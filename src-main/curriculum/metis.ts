// METIS: the policy judges each candidate's reward variance from recent outcomes (in-context
// examples), the highest predicted variances get the rollout budget (plus an exploration share),
// and the loop later rewards each judgment by how close it came to the variance observed.
//
// Choices the paper leaves open, and the simplest sound option taken here:
//  - examples: the `window` most recent outcomes, newest last ("recent"), the same number
//    spread evenly over the sorted variances of the last 4·window ("stratified"), or, per
//    candidate, the most recent outcomes of its own (family, difficulty) cell, then of its family,
//    then any ("similar": the paper's "nearest by similarity", with the suite's cells as the
//    similarity — what a judge must read to follow a cell whose pass rate RL has moved);
//  - J judgment samples per candidate at temperature 1; the prediction is the mean of those that
//    parse (failures are counted, never fatal; a candidate with none is treated as unknown);
//  - allocation: (1 − exploration)·batch by highest prediction, the rest uniformly from the
//    remaining candidates (unknown predictions rank last); the selection says which is which
//    (`picks`: a top-ranked slot is "judge" even when its prediction is unknown, which happens
//    only when fewer candidates parsed than the judge's share of the batch);
//  - self-judgment reward: 1 − |predicted − observed| / 0.25 (0.25 is the largest variance of a
//    reward in [0, 1]), floored at 0; an unparseable judgment scores 0.
import { judgmentPrompt, type JudgmentExample } from "./judgment-format.js";
import { sampleRows, type Curriculum, type CurriculumState } from "./curriculum.js";
import { cellKey, type TaskRow } from "../datasets/task-row.js";
import type { PromptPick } from "../protocol/run-types.js";
import { mean } from "../util/stats.js";

export interface MetisOptions {
  /** Candidates judged per step, as a multiple of the batch. */
  poolFactor: number;
  /** In-context examples per judgment prompt. */
  window: number;
  examples: "recent" | "stratified" | "similar";
  /** Share of the batch filled uniformly from the unchosen candidates. */
  exploration: number;
}

// K = 3 examples: on the built-in model the judge ranks variances better with 3 than with 6
// (Spearman 0.61 vs 0.56 with J = 4) at ~60 % of the judgment tokens (`npm run bench -- judge`).
// "similar" examples: the built-in model is pretrained to read its candidate's cell's outcomes, and
// after RL has moved the pass rates only they still tell the judge where its signal is (README).
export const DEFAULT_METIS: MetisOptions = { poolFactor: 3, window: 3, examples: "similar", exploration: 0.25 };

/** The largest variance of a reward in [0, 1]: the self-judgment reward's scale. */
export const VARIANCE_SCALE = 0.25;

/** How a judgment is scored: "absolute" 1 − |v̂ − v| / 0.25 (this project's), "squared" 1 − (4(v̂ − v))² (the paper's). */
export const JUDGMENT_REWARDS = ["absolute", "squared"] as const;
export type JudgmentRewardKind = (typeof JUDGMENT_REWARDS)[number];

/** The self-judgment reward of a prediction against the observed variance, in [0, 1]; 0 for an unparseable one. */
export function judgmentReward(predicted: number | null, observed: number, kind: JudgmentRewardKind = "absolute"): number {
  if (predicted === null) return 0;
  const error = Math.abs(predicted - observed) / VARIANCE_SCALE;
  return Math.max(0, kind === "squared" ? 1 - error * error : 1 - error);
}

/**
 * REINFORCE advantages of judgment rewards against a moving-average baseline (the paper's choice,
 * which works with one judgment per candidate where a group baseline would be zero). Returns the
 * advantages and the baseline after this step: b ← decay·b + (1 − decay)·mean(rewards); a step
 * with no baseline yet uses its own mean.
 */
export function movingBaselineAdvantages(rewards: readonly number[], baseline: number | null, decay = 0.9): { advantages: number[]; baseline: number | null } {
  if (rewards.length === 0) return { advantages: [], baseline };
  const m = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const b = baseline ?? m;
  return { advantages: rewards.map((r) => r - b), baseline: decay * b + (1 - decay) * m };
}

/** In-context examples from the state's recent outcomes; `candidate` is required by "similar" (else it falls back to "recent"). */
export function pickExamples(state: CurriculumState, rows: ReadonlyMap<string, TaskRow>, o: MetisOptions, candidate?: TaskRow): JudgmentExample[] {
  const known = state.recent.filter((r) => rows.has(r.id));
  let chosen = known.slice(-o.window);
  if (o.examples === "similar" && candidate) {
    // Rank by closeness (same cell, then same family, then any), newest first; show newest last.
    const closeness = (row: TaskRow): number => (row.family !== candidate.family ? 0 : row.difficulty === candidate.difficulty ? 2 : 1);
    const ranked = known.map((r, i) => ({ r, i, c: closeness(rows.get(r.id)!) })).sort((a, b) => b.c - a.c || b.i - a.i);
    chosen = ranked.slice(0, o.window).sort((a, b) => a.i - b.i).map((x) => x.r);
  }
  if (o.examples === "stratified") {
    const span = [...known.slice(-4 * o.window)].sort((a, b) => a.variance - b.variance);
    chosen = span.length <= o.window ? span : Array.from({ length: o.window }, (_, i) => span[Math.floor(((i + 0.5) * span.length) / o.window)]!);
  }
  return chosen.map((r) => ({ prompt: rows.get(r.id)!.prompt, variance: r.variance }));
}

/** METIS selection. */
export function metisCurriculum(o: MetisOptions = DEFAULT_METIS): Curriculum {
  return {
    name: "metis",
    select: async (pool, state, ctx) => {
      const candidates = sampleRows(pool, Math.ceil(ctx.batchSize * o.poolFactor), ctx.rng);
      const byId = new Map(pool.map((r) => [r.id, r]));
      const perCandidate = o.examples === "similar";
      // One set of examples for the whole step unless each candidate has its own.
      const shared = perCandidate ? null : pickExamples(state, byId, o);
      const examplesOf = new Map(candidates.map((c) => [c.id, shared ?? pickExamples(state, byId, o, c)]));
      // Candidates with the same examples are judged one after another, so llama.cpp evaluates that shared start once.
      const order = perCandidate ? [...candidates].sort((a, b) => cellKey(a).localeCompare(cellKey(b))) : candidates;
      const judgments = await ctx.judge(order.map((c) => ({ id: c.id, prompt: judgmentPrompt(examplesOf.get(c.id)!, c.prompt) })));
      const predicted = new Map(judgments.map((j) => [j.id, j.predicted]));
      const ranked = [...candidates].sort((a, b) => (predicted.get(b.id) ?? -1) - (predicted.get(a.id) ?? -1));
      const exploit = Math.min(ranked.length, Math.round(ctx.batchSize * (1 - o.exploration)));
      const chosen = ranked.slice(0, exploit);
      const explored = sampleRows(ranked.slice(exploit), ctx.batchSize - chosen.length, ctx.rng);
      const picks: Record<string, PromptPick> = Object.fromEntries([...chosen.map((r) => [r.id, "judge"] as const), ...explored.map((r) => [r.id, "explore"] as const)]);
      chosen.push(...explored);
      const completions = judgments.flatMap((j) => j.completions);
      // With "similar" examples each candidate has its own: those of the first candidate chosen are shown.
      const examples = shared ?? examplesOf.get(chosen[0]?.id ?? "") ?? [];
      return {
        chosen,
        judgments,
        examples,
        ...(perCandidate ? { examplesMean: Object.fromEntries([...examplesOf].filter(([, ex]) => ex.length > 0).map(([id, ex]) => [id, mean(ex.map((e) => e.variance))])) } : {}),
        picks,
        info: {
          "metis/candidates": candidates.length,
          "metis/examples": examples.length,
          "metis/parseFailures": completions.filter((c) => c.predicted === null).length,
          "metis/judgmentTokens": completions.reduce((n, c) => n + c.tokens.length + c.promptTokens.length, 0),
          // What llama.cpp computed: a shared prefix (instructions, examples) is evaluated once per context, a shared start of the answers once per candidate.
          "metis/judgmentTokensEvaluated": completions.reduce((n, c) => n + (c.evaluatedTokens ?? c.tokens.length + (c.evaluatedPromptTokens ?? c.promptTokens.length)), 0),
        },
      };
    },
  };
}
