// Labels for mid-run changes on the charts ("uniform → dapo", "lr 2e-3 → 1e-3"), from the run's
// history and its step metrics (which carry the scheduler and learning rate each step ran with).

/** A change to draw: at `step` (between that step and the next), with its label. */
export interface ChangeMarker {
  step: number;
  label: string;
}

const SHORT: Record<string, string> = { learningRate: "lr", judgmentWeight: "λ", metisExploration: "exploration", temperature: "temperature", steps: "steps" };

/** A number as people write settings: 0.002 → "2e-3", 0.5 → "0.5". */
export function formatSetting(v: unknown): string {
  if (typeof v !== "number") return String(v);
  if (v !== 0 && Math.abs(v) < 0.01) {
    const [m, e] = v.toExponential().split("e");
    return `${+Number(m).toFixed(3)}e${Number(e)}`;
  }
  return String(+v.toFixed(4));
}

/**
 * One marker per change. The value before a change is the configured value the change replaced
 * (kept with it); for older runs, the metrics of the step just before it (scheduler,
 * learningRate), else earlier changes of the same field, else it is left out ("→ dapo").
 */
export function changeMarkers(
  history: readonly { step: number; patch: Record<string, unknown>; before?: Record<string, unknown> }[],
  metrics: readonly { step: number; scheduler?: string; learningRate?: number }[],
): ChangeMarker[] {
  const byStep = new Map(metrics.map((m) => [m.step, m]));
  const last = new Map<string, unknown>();
  return history.map((h) => {
    const before = byStep.get(h.step);
    const parts = Object.entries(h.patch).map(([k, v]) => {
      const kept = h.before?.[k];
      const prior = kept !== undefined ? kept : k === "scheduler" ? before?.scheduler ?? last.get(k) : k === "learningRate" ? before?.learningRate ?? last.get(k) : last.get(k);
      last.set(k, v);
      const change = `${prior === undefined ? "" : `${formatSetting(prior)} → `}${formatSetting(v)}`;
      return k === "scheduler" ? change : `${SHORT[k] ?? k} ${change}`;
    });
    return { step: h.step + 0.5, label: parts.join(", ") };
  });
}
