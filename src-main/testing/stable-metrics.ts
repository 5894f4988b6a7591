// Step metrics as two runs that should be identical compare them.
import type { StepMetrics } from "../protocol/run-types.js";

/**
 * Metrics without wall-clock and machine fields (stepMs, throughput, the time/* breakdown,
 * memory/*), nor the counts of tokens llama.cpp evaluated (they depend on which context
 * happened to take which prompt, and so on what it had cached).
 */
export function stableMetrics(m: StepMetrics): Omit<StepMetrics, "stepMs" | "rolloutTokensPerSecond"> {
  const { stepMs: _s, rolloutTokensPerSecond: _r, ...rest } = m;
  return { ...rest, info: Object.fromEntries(Object.entries(m.info).filter(([k]) => !k.startsWith("time/") && !k.startsWith("memory/") && !/tokensEvaluated$/i.test(k))) };
}
