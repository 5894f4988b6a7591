// Base against adapter: two evaluations of the same rows, paired item by item, summarised by
// family and difficulty. Pure, so the CLI and the app render the same numbers.
import { mean, variance } from "../util/stats.js";
import type { EvalReport, ItemResult } from "./evaluate.js";

/** One row of the comparison: a (family, difficulty) cell, or the overall row (family null). */
export interface CompareRow {
  /** null on the overall row. */
  family: string | null;
  difficulty: number | null;
  items: number;
  /** Mean pass rate over the row's items. */
  base: number;
  adapter: number;
  /** adapter − base. */
  delta: number;
  /** Standard error of `delta` from the paired per-item differences; null under two items. */
  deltaStdErr: number | null;
  baseReward: number;
  adapterReward: number;
  /** Items whose pass rate rose / fell with the adapter. */
  improved: number;
  regressed: number;
}

/** The two reports do not cover the same items: a paired comparison would be meaningless. */
export class CompareMismatchError extends Error {
  override name = "CompareMismatchError";
  constructor(
    readonly id: string,
    readonly missingFrom: "base" | "adapter",
  ) {
    super(`cannot compare: item "${id}" was evaluated for the ${missingFrom === "base" ? "adapter" : "base model"} but not for the ${missingFrom === "base" ? "base model" : "adapter"}`);
  }
}

function row(family: string | null, difficulty: number | null, pairs: readonly (readonly [ItemResult, ItemResult])[]): CompareRow {
  const diffs = pairs.map(([b, a]) => a.passRate - b.passRate);
  const base = mean(pairs.map(([b]) => b.passRate)), adapter = mean(pairs.map(([, a]) => a.passRate));
  // √(s² / n) with the sample variance s² = population variance · n / (n − 1); one item gives none.
  const n = pairs.length;
  const deltaStdErr = n < 2 ? null : Math.sqrt(variance(diffs) / (n - 1));
  return {
    family,
    difficulty,
    items: n,
    base,
    adapter,
    delta: adapter - base,
    deltaStdErr,
    baseReward: mean(pairs.map(([b]) => b.meanReward)),
    adapterReward: mean(pairs.map(([, a]) => a.meanReward)),
    improved: diffs.filter((d) => d > 0).length,
    regressed: diffs.filter((d) => d < 0).length,
  };
}

/** Pair two reports on the same rows by item id: one row per (family, difficulty), sorted, then the overall row. */
export function compareReports(base: EvalReport, adapter: EvalReport): CompareRow[] {
  const adapterById = new Map(adapter.items.map((i) => [i.id, i]));
  const baseIds = new Set(base.items.map((i) => i.id));
  const missing = adapter.items.find((i) => !baseIds.has(i.id));
  if (missing) throw new CompareMismatchError(missing.id, "base");
  const pairs = base.items.map((b) => {
    const a = adapterById.get(b.id);
    if (!a) throw new CompareMismatchError(b.id, "adapter");
    return [b, a] as const;
  });
  const groups = new Map<string, (typeof pairs)[number][]>();
  for (const pair of pairs) {
    const key = `${pair[0].family}\u0000${pair[0].difficulty ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), pair]);
  }
  const cells = [...groups.values()]
    .map((g) => row(g[0]![0].family, g[0]![0].difficulty, g))
    .sort((x, y) => x.family!.localeCompare(y.family!) || (x.difficulty ?? 0) - (y.difficulty ?? 0));
  return [...cells, row(null, null, pairs)];
}

const percent = (x: number): string => `${(x * 100).toFixed(1)} %`;
const points = (x: number): string => `${x >= 0 ? "+" : "-"}${Math.abs(x * 100).toFixed(1)}`;

/** The comparison as a Markdown table: pass rate base → adapter, the difference in points (± its standard error), items up / down. */
export function compareTable(rows: readonly CompareRow[]): string {
  const head = "| family | difficulty | items | base | adapter | Δ (points) | items ↑ / ↓ |";
  const sep = "|---|---|---|---|---|---|---|";
  const lines = rows.map((r) => {
    const name = r.family ?? "all";
    const difficulty = r.family === null ? "" : r.difficulty === null ? "?" : `d${r.difficulty}`;
    const delta = `${points(r.delta)}${r.deltaStdErr === null ? "" : ` ± ${(r.deltaStdErr * 100).toFixed(1)}`}`;
    return `| ${name} | ${difficulty} | ${r.items} | ${percent(r.base)} | ${percent(r.adapter)} | ${delta} | ${r.improved} / ${r.regressed} |`;
  });
  return [head, sep, ...lines].join("\n");
}
