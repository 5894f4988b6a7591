// The pretraining stream: synthetic task items with their reference answers, and self-judgment
// items in the METIS format, as token sequences for SFT.
import { judgmentPrompt, formatVariance, type JudgmentExample } from "../curriculum/judgment-format.js";
import type { TaskRow } from "../datasets/task-row.js";
import { DIFFICULTIES, TASK_FAMILIES } from "../datasets/tasks/suite.js";
import { BYTE_EOS, encodeBytes } from "../model/byte-tokenizer.js";
import type { PolicySequence } from "../train/llama/policy-batch.js";
import type { Rng } from "../util/rng.js";
import { mean } from "../util/stats.js";

/** Expected reward variance of an item: a prior by difficulty until measured pass rates exist. */
export type VarianceOf = (row: TaskRow) => number;

/** A prior pass rate falling with difficulty; variance p(1 − p). */
export const PRIOR_VARIANCE: VarianceOf = (row) => {
  const p = [0.95, 0.8, 0.55, 0.3, 0.1][(row.difficulty ?? 3) - 1]!;
  return p * (1 - p);
};

/** Prompt + completion + end of text, with the loss on the completion. */
export function sftSequence(prompt: string, completion: string): PolicySequence {
  const p = encodeBytes(prompt);
  return { tokens: [...p, ...encodeBytes(completion), BYTE_EOS], completionStart: p.length };
}

/**
 * Share of each family in the mix. The two function-call variants share prompts, and copying
 * arguments is learnt fast; arithmetic and code need the most examples.
 */
export const FAMILY_WEIGHTS: Readonly<Record<string, number>> = { arithmetic: 0.4, code: 0.2, estimation: 0.2, "function-call": 0.1, "function-call-partial": 0.1 };

/** Weights of the families in a mix: a family absent from `weights` is never drawn. */
export type FamilyWeights = Readonly<Record<string, number>>;

function pickFamily(rng: Rng, weights: FamilyWeights): string {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  let u = rng.uniform() * total;
  for (const [family, w] of Object.entries(weights)) {
    if ((u -= w) < 0) return family;
  }
  return Object.keys(weights)[0]!;
}

/** Parse "arithmetic=0.4,code=0.2,…" (names must be task families). */
export function parseMix(text: string): FamilyWeights {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    const [name, value] = part.split("=");
    if (!name || !TASK_FAMILIES[name.trim()] || !(Number(value) >= 0)) throw new Error(`--mix expects family=weight pairs over ${Object.keys(TASK_FAMILIES).join(", ")}, found "${part}"`);
    out[name.trim()] = Number(value);
  }
  return out;
}

/** A random task row not among `heldOut` prompts. */
export function randomTask(rng: Rng, heldOut: ReadonlySet<string>, id = "train", weights: FamilyWeights = FAMILY_WEIGHTS): TaskRow {
  for (;;) {
    const row = TASK_FAMILIES[pickFamily(rng, weights)]!(rng, rng.pick(DIFFICULTIES), id);
    if (!heldOut.has(row.prompt)) return row;
  }
}

/** A random task row of one (family, difficulty) cell, not among `heldOut` prompts. */
function taskOfCell(rng: Rng, heldOut: ReadonlySet<string>, family: string, difficulty: number): TaskRow {
  for (;;) {
    const row = TASK_FAMILIES[family]!(rng, difficulty, "train");
    if (!heldOut.has(row.prompt)) return row;
  }
}

/** The population variance of `n` binary rewards drawn with success rate `p`: what one GRPO group shows. */
export function sampledGroupVariance(rng: Rng, p: number, n = 8): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.uniform() < p) k++;
  const m = k / n;
  return m * (1 - m);
}

/** A reading item: its candidate, examples (in prompt order) and the variance to answer. */
export interface ReadingItem {
  candidate: TaskRow;
  /** `own`: one of the groups of the candidate's cell the answer is read from (a filler may share the cell by chance). */
  examples: { row: TaskRow; variance: number; own: boolean }[];
  answer: number;
}

/** What a reading item answers: the mean variance its cell's examples showed, or the cell's expected group variance p(1 − p)(1 − 1/8). */
export const READING_TARGETS = ["mean", "expected"] as const;
export type ReadingTarget = (typeof READING_TARGETS)[number];

/** Group size the reading items simulate (the RFT loop's default group). */
const READING_GROUP = 8;

/**
 * A judgment item that can only be answered by reading its examples. RL moves a cell's pass rate
 * away from what pretraining measured, so here the candidate's (family, difficulty) cell gets a
 * pass rate p of its own, drawn uniformly; its examples are groups of that cell first (what METIS's
 * "similar" examples show), each with the variance a group of 8 drew at p, then items of the same
 * family or any, at their table variance; the answer is the mean variance its cell's examples
 * showed (or, `target` "expected", p(1 − p)(1 − 1/8)). With no example of its cell (a share of
 * the items) the answer is the table's.
 */
export function readingJudgmentItem(rng: Rng, heldOut: ReadonlySet<string>, varianceOf: VarianceOf, weights: FamilyWeights = FAMILY_WEIGHTS, target: ReadingTarget = "mean", k = 3): ReadingItem {
  const candidate = randomTask(rng, heldOut, "train", weights);
  const difficulty = candidate.difficulty ?? 3;
  const family = candidate.family!; // every suite row names its family
  const sameCell = rng.uniform() < 0.15 ? 0 : k - (rng.uniform() < 0.25 ? 1 + rng.int(k - 1) : 0);
  const p = rng.uniform();
  const examples: ReadingItem["examples"] = [];
  for (let i = 0; i < sameCell; i++) examples.push({ row: taskOfCell(rng, heldOut, family, difficulty), variance: sampledGroupVariance(rng, p, READING_GROUP), own: true });
  for (let i = sameCell; i < k; i++) {
    const row = rng.uniform() < 0.5 ? taskOfCell(rng, heldOut, family, rng.pick(DIFFICULTIES.filter((d) => d !== difficulty))) : randomTask(rng, heldOut, "train", weights);
    examples.push({ row, variance: Math.max(0, varianceOf(row) + 0.02 * rng.normal()), own: false });
  }
  // "mean": what its cell's groups showed, a function of the prompt alone, so the skill to learn is
  // reading (the model learnt nothing from "expected" alone in 1 000 steps: a noisy target).
  const answer = sameCell === 0 ? varianceOf(candidate) : target === "mean" ? mean(examples.slice(0, sameCell).map((e) => e.variance)) : p * (1 - p) * (1 - 1 / READING_GROUP);
  return { candidate, examples: rng.shuffle(examples), answer };
}

/** A reading item as a training sequence. */
export function readingJudgmentSequence(rng: Rng, heldOut: ReadonlySet<string>, varianceOf: VarianceOf, weights: FamilyWeights = FAMILY_WEIGHTS, target: ReadingTarget = "mean"): PolicySequence {
  const item = readingJudgmentItem(rng, heldOut, varianceOf, weights, target);
  return sftSequence(judgmentPrompt(item.examples.map((e) => ({ prompt: e.row.prompt, variance: e.variance })), item.candidate.prompt), ` ${formatVariance(item.answer)}`);
}

/** A judgment item: 2–6 recent items with their variances, a new one, and its variance as the answer. */
export function judgmentSequence(rng: Rng, heldOut: ReadonlySet<string>, varianceOf: VarianceOf, weights: FamilyWeights = FAMILY_WEIGHTS): PolicySequence {
  const k = 2 + rng.int(5);
  const examples: JudgmentExample[] = Array.from({ length: k }, () => {
    const row = randomTask(rng, heldOut, "train", weights);
    return { prompt: row.prompt, variance: Math.max(0, varianceOf(row) + 0.02 * rng.normal()) };
  });
  const candidate = randomTask(rng, heldOut, "train", weights);
  return sftSequence(judgmentPrompt(examples, candidate.prompt), ` ${formatVariance(varianceOf(candidate))}`);
}

const DIGITS = "0123456789";
const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/**
 * `answer` with one letter or digit replaced by another of its kind: a careless slip that makes
 * the answer wrong (a different number, name or identifier) while keeping its form.
 */
export function withTypo(rng: Rng, answer: string): string {
  const positions = [...answer].flatMap((c, i) => (/[0-9a-z]/.test(c) ? [i] : []));
  if (positions.length === 0) return answer;
  const i = rng.pick(positions);
  const alphabet = DIGITS.includes(answer[i]!) ? DIGITS : LETTERS;
  const others = alphabet.replace(answer[i]!, "");
  return answer.slice(0, i) + rng.pick([...others]) + answer.slice(i + 1);
}

/**
 * One batch: task items, or (with probability `judgmentShare`) judgment items, a share
 * `readingShare` of them reading items (see `readingJudgmentSequence`). A share `typoShare` of
 * task answers carries one slip (see `withTypo`).
 */
export function pretrainBatch(rng: Rng, size: number, heldOut: ReadonlySet<string>, judgmentShare: number, varianceOf: VarianceOf, weights: FamilyWeights = FAMILY_WEIGHTS, typoShare = 0, readingShare = 0, readingTarget: ReadingTarget = "mean"): PolicySequence[] {
  if (rng.uniform() < judgmentShare) {
    // readingShare 0 draws nothing extra, so the stream of older recipes is unchanged.
    const item = (): PolicySequence => (readingShare > 0 && rng.uniform() < readingShare ? readingJudgmentSequence(rng, heldOut, varianceOf, weights, readingTarget) : judgmentSequence(rng, heldOut, varianceOf, weights));
    return Array.from({ length: Math.max(1, size >> 1) }, item);
  }
  return Array.from({ length: size }, () => {
    const row = randomTask(rng, heldOut, "train", weights);
    return sftSequence(row.prompt, rng.uniform() < typoShare ? withTypo(rng, row.reference!) : row.reference!);
  });
}

/**
 * Variances measured on the model itself: the mean observed reward variance of each (family,
 * difficulty) cell, so judgment items teach the model its own difficulty profile.
 */
export function measuredVariance(cells: readonly { family: string; difficulty: number | null; variance: number }[]): VarianceOf {
  const table = new Map(cells.map((c) => [`${c.family}/${c.difficulty}`, c.variance]));
  return (row) => table.get(`${row.family}/${row.difficulty ?? null}`) ?? PRIOR_VARIANCE(row);
}
