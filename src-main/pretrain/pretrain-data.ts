// The pretraining stream: synthetic task items with their reference answers, and self-judgment
// items in the METIS format, as token sequences for SFT.
import { judgmentPrompt, formatVariance, type JudgmentExample } from "../curriculum/judgment-format.js";
import type { TaskRow } from "../datasets/task-row.js";
import { DIFFICULTIES, TASK_FAMILIES } from "../datasets/tasks/suite.js";
import { BYTE_EOS, encodeBytes } from "../model/byte-tokenizer.js";
import type { PolicySequence } from "../train/llama/policy-batch.js";
import type { Rng } from "../util/rng.js";

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
 * One batch: task items, or (with probability `judgmentShare`) judgment items. A share
 * `typoShare` of task answers carries one slip (see `withTypo`).
 */
export function pretrainBatch(rng: Rng, size: number, heldOut: ReadonlySet<string>, judgmentShare: number, varianceOf: VarianceOf, weights: FamilyWeights = FAMILY_WEIGHTS, typoShare = 0): PolicySequence[] {
  if (rng.uniform() < judgmentShare) return Array.from({ length: Math.max(1, size >> 1) }, () => judgmentSequence(rng, heldOut, varianceOf, weights));
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
