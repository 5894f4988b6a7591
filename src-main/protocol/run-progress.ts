// How far a run is and what it has shown, derived from its steps: shared by the engine (which
// summarises metrics.jsonl for the Runs table) and the renderer (which adds streamed steps and
// draws the run screen). Pure: no Node or DOM.

/** Steps whose times estimate the next ones (recent, so a change of scheduler or length shows soon). */
export const ETA_WINDOW = 10;

/** What the Runs table needs from a run's steps, kept small and updated one step at a time. */
export interface RunSummary {
  /** Steps recorded (each counted once, whatever re-runs a crash caused). */
  steps: number;
  /** Training time: the sum of step times (pauses excluded). */
  durationMs: number;
  /** Times of the latest steps, oldest first, at most ETA_WINDOW. */
  recentStepMs: number[];
  /** The latest held-out measurement. */
  heldOut: { step: number; passRate: number } | null;
  /** The scheduler the first step ran with. */
  firstScheduler: string | null;
  /** Step number → its time, so a step recorded twice (re-run after a crash) is counted once. */
  stepMs: Record<number, number>;
}

/** A summary of no steps. */
export function emptySummary(): RunSummary {
  return { steps: 0, durationMs: 0, recentStepMs: [], heldOut: null, firstScheduler: null, stepMs: {} };
}

/** The summary with one more step (a step seen before replaces its earlier record). */
export function addStep(s: RunSummary, m: { step: number; stepMs: number; scheduler?: string; heldOutPassRate?: number | null }): RunSummary {
  const stepMs = Number.isFinite(m.stepMs) && m.stepMs >= 0 ? m.stepMs : 0;
  const seen = Object.hasOwn(s.stepMs, m.step);
  const previous = seen ? s.stepMs[m.step]! : 0;
  return {
    steps: s.steps + (seen ? 0 : 1),
    durationMs: s.durationMs - previous + stepMs,
    recentStepMs: [...s.recentStepMs, stepMs].slice(-ETA_WINDOW),
    heldOut: typeof m.heldOutPassRate === "number" ? { step: m.step, passRate: m.heldOutPassRate } : s.heldOut,
    firstScheduler: s.firstScheduler ?? m.scheduler ?? null,
    stepMs: { ...s.stepMs, [m.step]: stepMs },
  };
}

/** Where a run stands: share done, training time so far, and the time left while it runs. */
export interface RunProgress {
  /** Completed share of the planned steps, in [0, 1]. */
  fraction: number;
  elapsedMs: number;
  /** Estimated time to the last step; null unless the run is running and has timed a step. */
  etaMs: number | null;
}

/**
 * Progress of a run at `step` of `totalSteps`. `sinceLastStepMs` is the time the step in progress
 * has taken so far (a live view ticks it); it counts towards elapsed and eats into the estimate
 * of the step under way.
 */
export function runProgress(o: { step: number; totalSteps: number; status: string; durationMs: number; recentStepMs: readonly number[]; sinceLastStepMs?: number }): RunProgress {
  const total = Math.max(1, o.totalSteps);
  const fraction = Math.min(1, Math.max(0, o.step / total));
  const running = o.status === "running";
  const since = running ? Math.max(0, o.sinceLastStepMs ?? 0) : 0;
  const elapsedMs = o.durationMs + since;
  if (!running || o.recentStepMs.length === 0 || o.step >= total) return { fraction, elapsedMs, etaMs: running && o.step >= total ? 0 : null };
  const perStep = o.recentStepMs.reduce((a, b) => a + b, 0) / o.recentStepMs.length;
  const etaMs = Math.max(0, (total - o.step) * perStep - since);
  return { fraction, elapsedMs, etaMs };
}

/** A duration as people read it: "45 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/**
 * The schedulers a run used, from the one it started with and its change log:
 * "metis", or "metis → uniform at step 12" (the change applied after step 12).
 */
export function schedulerHistory(first: string, history: readonly { step: number; patch: Record<string, unknown> }[]): string {
  let text = first;
  let current = first;
  for (const h of history) {
    const next = h.patch.scheduler;
    if (typeof next !== "string" || next === current) continue;
    text += ` → ${next} at step ${h.step}`;
    current = next;
  }
  return text;
}

/**
 * The standard error of a pass rate measured on `items × samples` completions (binomial:
 * √(p(1 − p)/n)). Samples of one item are correlated, so this is a lower bound on the spread.
 */
export function passRateStdError(passRate: number, items: number, samples: number): number {
  const n = Math.max(1, items * samples);
  const p = Math.min(1, Math.max(0, passRate));
  return Math.sqrt((p * (1 - p)) / n);
}
