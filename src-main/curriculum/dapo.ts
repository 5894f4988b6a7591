// DAPO dynamic sampling: over-sample, roll out, drop groups whose rewards are all equal (no
// advantage, no gradient), refill from the reserve. The loop counts the dropped rollouts as waste.
import { sampleRows, type Curriculum } from "./curriculum.js";

export interface DapoOptions {
  /** Candidates drawn per prompt slot (chosen + reserve). */
  oversample: number;
}

/** DAPO's dynamic sampling. */
export function dapoCurriculum(o: DapoOptions = { oversample: 3 }): Curriculum {
  return {
    name: "dapo",
    select: async (pool, _state, ctx) => {
      const drawn = sampleRows(pool, Math.ceil(ctx.batchSize * o.oversample), ctx.rng);
      return { chosen: drawn.slice(0, ctx.batchSize), reserve: drawn.slice(ctx.batchSize), filterZeroVariance: true, info: {} };
    },
  };
}
