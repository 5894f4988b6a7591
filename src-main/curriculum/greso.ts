// GRESO-style pre-rollout skipping: a prompt whose recent groups all had zero variance is skipped
// with a probability that grows with the length of that streak, but never reaches 1, so it can
// come back once the policy has changed.
import { type Curriculum, type CurriculumState } from "./curriculum.js";

export interface GresoOptions {
  /** Skip probability added per consecutive zero-variance group. */
  perStreak: number;
  /** Skip probability never exceeds this (the exploration floor is 1 − maxSkip). */
  maxSkip: number;
}

/** Consecutive zero-variance groups at the end of a prompt's history. */
export function zeroVarianceStreak(state: CurriculumState, id: string): number {
  return state.prompts[id]?.zeroStreak ?? 0;
}

/** GRESO's history filter. */
export function gresoCurriculum(o: GresoOptions = { perStreak: 0.3, maxSkip: 0.9 }): Curriculum {
  return {
    name: "greso",
    select: async (pool, state, ctx) => {
      const order = ctx.rng.shuffle([...pool]);
      const chosen = [];
      let skipped = 0;
      for (const row of order) {
        if (chosen.length === ctx.batchSize) break;
        const pSkip = Math.min(o.maxSkip, o.perStreak * zeroVarianceStreak(state, row.id));
        if (ctx.rng.uniform() < pSkip) skipped++;
        else chosen.push(row);
      }
      return { chosen, info: { "greso/skipped": skipped } };
    },
  };
}
