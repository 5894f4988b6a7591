// A run's name in a comparison's legend: the schedulers it ran with, then its name. A default name
// already starts with the scheduler it was started with ("uniform · metis-tiny · 11-26 14:02"),
// which is not said twice.

/** "uniform · metis-tiny · 11-26 14:02" for a uniform run of that default name; "metis → uniform · my run" for a named run switched mid-way. */
export function compareLabel(name: string, schedulersUsed: readonly string[], configScheduler: string): string {
  const used = schedulersUsed.length > 0 ? [...new Set(schedulersUsed)] : [configScheduler];
  const first = used[0]!;
  const rest = name.startsWith(`${first} · `) ? name.slice(first.length + 3) : name;
  return `${used.join(" → ")} · ${rest}`;
}
