// Continuous rewards: closeness of a numeric prediction to a target.
import { extractFinalAnswer, parseNumber } from "./math-reward.js";

/** 1 − |prediction − target| / scale, floored at 0; 0 when no number can be read. */
export function continuousReward(completion: string, target: number, scale: number): number {
  const text = extractFinalAnswer(completion);
  const value = text === null ? null : parseNumber(text);
  if (value === null) return 0;
  return Math.max(0, 1 - Math.abs(value - target) / scale);
}
