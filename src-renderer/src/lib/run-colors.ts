// One colour per run, fixed: the same run keeps its colour in every comparison, whatever is ticked.

/** Distinct hues on the dark theme (Tableau 10, lightened). */
export const RUN_PALETTE = ["#7c9cff", "#f4c267", "#6fd3a0", "#ff7a85", "#c792ea", "#5fd7e0", "#ff9f5a", "#b5d96a", "#f28fc8", "#a0a8bd"];

/** The colour of `runId`: by its place among all runs in start order, so colours do not change as runs are ticked. */
export function runColor(runId: string, runs: readonly { id: string; createdAt: string }[]): string {
  const ordered = [...runs].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const i = Math.max(0, ordered.findIndex((r) => r.id === runId));
  return RUN_PALETTE[i % RUN_PALETTE.length]!;
}
