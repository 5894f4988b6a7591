// Evaluation: sample K completions per item, score them, and summarise by family and difficulty.
import type { TaskRow } from "../datasets/task-row.js";
import { scoreCompletion } from "../rewards/score.js";
import type { RolloutEngine } from "../rollout/rollout-engine.js";
import type { SamplingInput } from "../rollout/sampling.js";
import { mean, variance } from "../util/stats.js";

/** A completion passes when its reward reaches this (exactly right for 0/1 rewards)… */
export const PASS_THRESHOLD = 0.999;
/** …or, for a continuous reward (1 − relative error), when it is within 5 % of the target. */
export const CONTINUOUS_PASS_THRESHOLD = 0.95;

/** Whether a reward of this kind counts as solved. */
export function passes(kind: string, reward: number): boolean {
  return reward >= (kind === "continuous" ? CONTINUOUS_PASS_THRESHOLD : PASS_THRESHOLD);
}

export interface ItemResult {
  id: string;
  family: string;
  difficulty: number | null;
  samples: number;
  passRate: number;
  meanReward: number;
  /** Population variance of the scored rewards: what METIS predicts. */
  rewardVariance: number;
  /** Unscorable completions (reward null), left out of both means. */
  unscorable: number;
}

export interface CellSummary {
  family: string;
  difficulty: number | null;
  items: number;
  passRate: number;
  meanReward: number;
  /** Share of items with 0 < pass rate < 1. */
  inBetween: number;
  /** Mean of the items' reward variances (what METIS judgments predict). */
  rewardVariance: number;
}

export interface EvalReport {
  items: ItemResult[];
  cells: CellSummary[];
  overall: { items: number; passRate: number; meanReward: number; inBetween: number; solved: number; unsolved: number };
  tokensPerSecond: number;
}


/** Evaluate `rows` with `samples` completions each; `onProgress` gets (done, total). */
export async function evaluateRows(engine: RolloutEngine, rows: readonly TaskRow[], samples: number, sampling: SamplingInput, onProgress: (done: number, total: number) => void = () => undefined): Promise<EvalReport> {
  const items: ItemResult[] = [];
  const chunk = 16;
  let tokens = 0, ms = 0;
  for (let start = 0; start < rows.length; start += chunk) {
    const batchRows = rows.slice(start, start + chunk);
    const batch = await engine.generate(batchRows.map((r) => r.prompt), samples, sampling);
    tokens += batch.generatedTokens;
    ms += batch.wallMs;
    for (const [i, row] of batchRows.entries()) {
      const rewards = await Promise.all(batch.completions[i]!.map((c) => scoreCompletion(row.reward, c.text)));
      const scored = rewards.filter((r): r is number => r !== null);
      items.push({
        id: row.id,
        family: row.family ?? row.reward.kind,
        difficulty: row.difficulty ?? null,
        samples,
        passRate: mean(scored.map((r) => (passes(row.reward.kind, r) ? 1 : 0))),
        meanReward: mean(scored),
        rewardVariance: variance(scored),
        unscorable: rewards.length - scored.length,
      });
    }
    onProgress(Math.min(start + chunk, rows.length), rows.length);
  }
  return { items, cells: summarize(items), overall: overall(items), tokensPerSecond: tokens / (ms / 1000) };
}

function overall(items: readonly ItemResult[]): EvalReport["overall"] {
  return {
    items: items.length,
    passRate: mean(items.map((i) => i.passRate)),
    meanReward: mean(items.map((i) => i.meanReward)),
    inBetween: mean(items.map((i) => (i.passRate > 0 && i.passRate < 1 ? 1 : 0))),
    solved: items.filter((i) => i.passRate === 1).length,
    unsolved: items.filter((i) => i.passRate === 0).length,
  };
}

/** Group by (family, difficulty), sorted. */
export function summarize(items: readonly ItemResult[]): CellSummary[] {
  const groups = new Map<string, ItemResult[]>();
  for (const item of items) {
    const key = `${item.family}\u0000${item.difficulty ?? ""}`;
    const list = groups.get(key) ?? [];
    list.push(item);
    groups.set(key, list);
  }
  return [...groups.values()]
    .map((g) => ({ family: g[0]!.family, difficulty: g[0]!.difficulty, items: g.length, passRate: mean(g.map((i) => i.passRate)), meanReward: mean(g.map((i) => i.meanReward)), inBetween: mean(g.map((i) => (i.passRate > 0 && i.passRate < 1 ? 1 : 0))), rewardVariance: mean(g.map((i) => i.rewardVariance)) }))
    .sort((a, b) => a.family.localeCompare(b.family) || (a.difficulty ?? 0) - (b.difficulty ?? 0));
}

/** The pass-rate table (families × difficulties) as Markdown. */
export function passRateTable(report: EvalReport): string {
  const families = [...new Set(report.cells.map((c) => c.family))];
  const difficulties = [...new Set(report.cells.map((c) => c.difficulty))].sort((a, b) => (a ?? 0) - (b ?? 0));
  const cell = (f: string, d: number | null): string => {
    const c = report.cells.find((x) => x.family === f && x.difficulty === d);
    return c ? `${Math.round(c.passRate * 100)} % (${c.meanReward.toFixed(2)})` : "";
  };
  const head = `| family | ${difficulties.map((d) => `d${d ?? "?"}`).join(" | ")} |`;
  const sep = `|---|${difficulties.map(() => "---").join("|")}|`;
  const rows = families.map((f) => `| ${f} | ${difficulties.map((d) => cell(f, d)).join(" | ")} |`);
  return [head, sep, ...rows].join("\n");
}
