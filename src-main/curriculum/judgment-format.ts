// The self-judgment format METIS asks the policy to answer: recent items with the reward variance
// observed on each, then a new item whose variance is to be predicted. The built-in model is
// pretrained on this exact format, so it answers in it from the first RL step.

/** One in-context example: an item and the within-group reward variance observed on it. */
export interface JudgmentExample {
  prompt: string;
  variance: number;
}

const MAX_ITEM_CHARS = 64;

/**
 * A prompt shortened to one line (what the judgment prompt shows of an item): lines joined by
 * " / "; when too long, the last line (usually the question) is kept whole and the head cut.
 */
export function compactPrompt(prompt: string): string {
  const lines = prompt.replace(/\n\s*A:\s*$/, "").split(/\s*\n\s*/).map((l) => l.trim()).filter(Boolean);
  const line = lines.join(" / ");
  if (line.length <= MAX_ITEM_CHARS) return line;
  const last = lines.at(-1)!;
  if (last.length >= MAX_ITEM_CHARS - 8 || lines.length === 1) return `${line.slice(0, MAX_ITEM_CHARS - 1)}…`;
  const head = lines.slice(0, -1).join(" / ");
  return `${head.slice(0, MAX_ITEM_CHARS - last.length - 4)}… / ${last}`;
}

/** Variance as written in judgment prompts: two decimals. */
export function formatVariance(v: number): string {
  return Math.min(Math.max(v, 0), 9.99).toFixed(2);
}

/** The judgment prompt for `candidate` given recent `examples`; the answer is a variance. */
export function judgmentPrompt(examples: readonly JudgmentExample[], candidate: string): string {
  const lines = examples.map((e) => `${compactPrompt(e.prompt)} => ${formatVariance(e.variance)}`);
  return `Judge variance.\n${lines.join("\n")}\nNew: ${compactPrompt(candidate)}\nA:`;
}

/**
 * The predicted variance in a judgment completion, or null when none can be read. A number above
 * 1 is no variance of a reward in [0, 1] (the largest is 0.25) but a misread format (an untrained
 * judge with no examples wrote "  068"): it is unreadable, not a top-ranked 0.25.
 */
export function parseJudgment(completion: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)/.exec(completion);
  if (!m) return null;
  const v = Number(m[1]);
  return Number.isFinite(v) && v <= 1 ? v : null;
}
