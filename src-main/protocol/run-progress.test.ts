import { describe, expect, it } from "vitest";
import { addStep, emptySummary, formatDuration, passRateStdError, runProgress, schedulerHistory } from "./run-progress.js";

describe("run summaries", () => {
  it("sum step times, keep the latest ten, the latest held-out and the first scheduler; a step recorded twice counts once", () => {
    let s = emptySummary();
    for (let step = 1; step <= 12; step++) s = addStep(s, { step, stepMs: step * 100, scheduler: step < 5 ? "metis" : "uniform", heldOutPassRate: step % 5 === 0 ? step / 100 : null });
    expect(s.steps).toBe(12);
    expect(s.durationMs).toBe(7800);
    expect(s.recentStepMs).toEqual([300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200]);
    expect(s.heldOut).toEqual({ step: 10, passRate: 0.1 });
    expect(s.firstScheduler).toBe("metis");
    // Step 12 re-run after a crash: its new time replaces the old one.
    s = addStep(s, { step: 12, stepMs: 200 });
    expect(s.steps).toBe(12);
    expect(s.durationMs).toBe(6800);
  });
});

describe("runProgress", () => {
  it("estimates the time left from the recent step times while running", () => {
    const p = runProgress({ step: 10, totalSteps: 40, status: "running", durationMs: 25_000, recentStepMs: [2000, 3000] });
    expect(p).toEqual({ fraction: 0.25, elapsedMs: 25_000, etaMs: 30 * 2500 });
  });

  it("counts the step under way into elapsed and out of the estimate", () => {
    const p = runProgress({ step: 10, totalSteps: 40, status: "running", durationMs: 25_000, recentStepMs: [2000, 3000], sinceLastStepMs: 1000 });
    expect(p.elapsedMs).toBe(26_000);
    expect(p.etaMs).toBe(74_000);
    // A step slower than the estimate never gives a negative time left.
    expect(runProgress({ step: 39, totalSteps: 40, status: "running", durationMs: 0, recentStepMs: [1000], sinceLastStepMs: 5000 }).etaMs).toBe(0);
  });

  it("has no estimate before the first step or once the run is not running; the share is clamped", () => {
    expect(runProgress({ step: 0, totalSteps: 40, status: "running", durationMs: 0, recentStepMs: [] }).etaMs).toBeNull();
    expect(runProgress({ step: 10, totalSteps: 40, status: "paused", durationMs: 9000, recentStepMs: [900], sinceLastStepMs: 5000 })).toEqual({ fraction: 0.25, elapsedMs: 9000, etaMs: null });
    expect(runProgress({ step: 50, totalSteps: 40, status: "finished", durationMs: 1, recentStepMs: [1] }).fraction).toBe(1);
  });
});

describe("formatting", () => {
  it("durations read as seconds, minutes or hours", () => {
    expect(formatDuration(44_600)).toBe("45 s");
    expect(formatDuration(185_000)).toBe("3 min 05 s");
    expect(formatDuration(3_720_000)).toBe("1 h 02 min");
  });

  it("scheduler history names each switch and its step, and ignores other changes", () => {
    expect(schedulerHistory("metis", [])).toBe("metis");
    expect(schedulerHistory("metis", [{ step: 5, patch: { learningRate: 0.001 } }, { step: 12, patch: { scheduler: "uniform" } }, { step: 14, patch: { scheduler: "uniform" } }, { step: 20, patch: { scheduler: "dapo", learningRate: 1e-4 } }])).toBe("metis → uniform at step 12 → dapo at step 20");
  });

  it("the held-out standard error is binomial over items × samples", () => {
    expect(passRateStdError(0.5, 25, 4)).toBeCloseTo(0.05, 12);
    expect(passRateStdError(0, 10, 4)).toBe(0);
    expect(passRateStdError(1.2, 10, 4)).toBe(0);
  });
});
