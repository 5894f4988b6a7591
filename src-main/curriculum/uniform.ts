// Uniform sampling: standard GRPO.
import { sampleRows, type Curriculum } from "./curriculum.js";

/** Every prompt equally likely. */
export function uniformCurriculum(): Curriculum {
  return { name: "uniform", select: async (pool, _state, ctx) => ({ chosen: sampleRows(pool, ctx.batchSize, ctx.rng), info: {} }) };
}
