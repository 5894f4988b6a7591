// Group-relative advantages (GRPO): each completion's reward against its group's.

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
    const mean = scored.reduce((a, b) => a + b, 0) / scored.length;
    const std = Math.sqrt(scored.reduce((a, b) => a + (b - mean) ** 2, 0) / scored.length);
    return group.map((r) => (r === null ? 0 : opt.scaleByStd ? (r - mean) / (std + opt.eps) : r - mean));
  });
}
