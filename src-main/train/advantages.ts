// Group-relative advantages (GRPO): each completion's reward against its group's.
import { mean, variance } from "../util/stats.js";

/** Options: subtract the group mean; optionally divide by the group's standard deviation. */
export interface AdvantageOptions {
  scaleByStd: boolean;
  eps: number;
}

/**
 * rewards[prompt][sample] → advantages of the same shape. Unscorable rewards (null) are left out
 * of the group's mean and std and get advantage 0; a group with one or no scored sample gives 0s.
 */
export function groupAdvantages(rewards: readonly (readonly (number | null)[])[], opt: AdvantageOptions = { scaleByStd: true, eps: 1e-6 }): number[][] {
  return rewards.map((group) => {
    const scored = group.filter((r): r is number => r !== null);
    if (scored.length < 2) return group.map(() => 0);
    const m = mean(scored);
    const std = Math.sqrt(variance(scored));
    return group.map((r) => (r === null ? 0 : opt.scaleByStd ? (r - m) / (std + opt.eps) : r - m));
  });
}
