// Rollouts a curriculum saved against uniform sampling. A group whose rewards are all equal gives
// no gradient: its rollouts are spent for nothing. Uniform sampling would have met zero-variance
// groups at the rate they occur over the dataset; that rate is estimated, before each step, from
// every prompt seen so far, each counted once with its latest outcome. Prompts a curriculum
// avoids are seen less, so for METIS the estimate leans low and the saving is understated.

/** What a step records about its groups (a subset of StepMetrics). */
export interface OutcomeStep {
  step: number;
  cells: readonly { id: string; variance: number }[];
  info: Readonly<Record<string, number>>;
  wastedRollouts: number;
}

export interface RolloutsSaved {
  /** Groups rolled out, and those with zero variance, over the steps compared (all but the first). */
  groups: number;
  zeroGroups: number;
  /** Zero-variance groups uniform sampling is expected to have met over the same steps. */
  uniformZeroGroups: number;
  /** uniformZeroGroups − zeroGroups, as groups and as rollouts (× group size); negative when worse than uniform. */
  savedGroups: number;
  savedRollouts: number;
  /** GRESO: groups skipped before rollout. DAPO: rollouts made and then dropped. */
  skippedGroups: number;
  droppedRollouts: number;
  /** Per step: the zero-variance share expected of uniform sampling (null before anything was seen). */
  uniformShare: (number | null)[];
}

/** Zero-variance groups met against uniform's expectation, over a run's steps. */
export function rolloutsSaved(steps: readonly OutcomeStep[], groupSize: number): RolloutsSaved {
  const latestZero = new Map<string, boolean>();
  let zerosSeen = 0;
  const r: RolloutsSaved = { groups: 0, zeroGroups: 0, uniformZeroGroups: 0, savedGroups: 0, savedRollouts: 0, skippedGroups: 0, droppedRollouts: 0, uniformShare: [] };
  for (const s of steps) {
    const share = latestZero.size > 0 ? zerosSeen / latestZero.size : null;
    r.uniformShare.push(share);
    if (share !== null) {
      r.groups += s.cells.length;
      r.zeroGroups += s.cells.filter((c) => c.variance === 0).length;
      r.uniformZeroGroups += share * s.cells.length;
    }
    for (const c of s.cells) {
      const zero = c.variance === 0;
      const before = latestZero.get(c.id);
      if (before !== undefined && before !== zero) zerosSeen += zero ? 1 : -1;
      else if (before === undefined && zero) zerosSeen++;
      latestZero.set(c.id, zero);
    }
    r.skippedGroups += s.info["greso/skipped"] ?? 0;
    r.droppedRollouts += s.wastedRollouts;
  }
  r.savedGroups = r.uniformZeroGroups - r.zeroGroups;
  r.savedRollouts = r.savedGroups * groupSize;
  return r;
}
