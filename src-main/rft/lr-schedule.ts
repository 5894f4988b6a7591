// The learning rate of each step: constant, or a cosine decay from the configured rate at the first
// step to a tenth of it at the last. A constant rate kept moving the adapter after held-out had
// peaked (the default run lost 2–4 points over its last 30–40 steps, bench/results/learn-*.json).
import { z } from "zod";

export const LR_SCHEDULES = ["constant", "cosine"] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];
export const LrScheduleSchema = z.enum(LR_SCHEDULES);

/** Where the cosine schedule ends, as a share of the configured rate. */
export const COSINE_FLOOR = 0.1;

/** The learning rate at `step` (1-based) of a run of `steps` steps whose configured rate is `base`. */
export function learningRateAt(schedule: LrSchedule, base: number, step: number, steps: number): number {
  if (schedule === "constant" || steps <= 1) return base;
  const progress = Math.min(1, Math.max(0, (step - 1) / (steps - 1)));
  return base * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
