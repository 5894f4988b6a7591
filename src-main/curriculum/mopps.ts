// MoPPS-style selection: a Beta posterior on each prompt's success rate, updated from observed
// group means (older outcomes discounted), and Thompson sampling toward a target rate (≈ ½, where
// a binary reward's variance peaks). No extra model calls.
import type { Rng } from "../util/rng.js";
import { OUTCOME_DECAY, type Curriculum, type CurriculumState } from "./curriculum.js";

export interface MoppsOptions {
  /** Success rate to aim for. */
  target: number;
  /** Beta(prior, prior) before any outcome. */
  prior: number;
}

/**
 * Beta posterior (α, β) of a prompt's success rate at `step`: an outcome k steps old weighs
 * OUTCOME_DECAY^k. The state keeps the discounted sums as of the prompt's last outcome.
 */
export function posterior(state: CurriculumState, id: string, step: number, o: MoppsOptions): [number, number] {
  const p = state.prompts[id];
  if (!p) return [o.prior, o.prior];
  const w = OUTCOME_DECAY ** Math.max(0, step - p.last.step);
  return [o.prior + w * p.successes, o.prior + w * p.failures];
}

/** A Gamma(shape, 1) sample (Marsaglia–Tsang; boosted for shape < 1). */
function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * rng.uniform() ** (1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(a, b) sample. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = gamma(rng, a);
  return x / (x + gamma(rng, b));
}

/** MoPPS: Thompson sampling of success rates, closest to the target first. */
export function moppsCurriculum(o: MoppsOptions = { target: 0.5, prior: 1 }): Curriculum {
  return {
    name: "mopps",
    select: async (pool, state, ctx) => {
      const scored = pool.map((row) => {
        const [a, b] = posterior(state, row.id, ctx.step, o);
        return { row, distance: Math.abs(sampleBeta(ctx.rng, a, b) - o.target) };
      });
      scored.sort((x, y) => x.distance - y.distance);
      return { chosen: scored.slice(0, ctx.batchSize).map((s) => s.row), info: {} };
    },
  };
}
