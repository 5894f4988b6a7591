// PCL (Prompt Curriculum Learning), the baseline the METIS paper measures against: a learned value
// estimate of each prompt's expected reward, and the prompts predicted nearest p = ½ get the
// rollout budget. The value model here is a ridge-regression head on the policy model's own
// hidden state (llama.cpp's pooled embedding of the prompt), refitted each step on the recent
// outcomes. Refitting from the run's state, rather than carrying weights, keeps resume exact.
import { Rng } from "../util/rng.js";
import { sampleRows, type Curriculum, type CurriculumState } from "./curriculum.js";

export interface PclOptions {
  /** Candidates scored per step, as a multiple of the batch. */
  poolFactor: number;
  /** Expected reward to aim for. */
  target: number;
  /** Recent outcomes the head is fitted on. */
  window: number;
  /** L2 penalty of the ridge fit. */
  ridge: number;
  /** Features beyond this many are randomly projected down to it (the fit is cubic in it). */
  maxDims: number;
}

export const DEFAULT_PCL: PclOptions = { poolFactor: 4, target: 0.5, window: 256, ridge: 1, maxDims: 256 };

/** A linear value head: prediction = w·x + b, clipped to [0, 1]. */
export interface ValueHead {
  w: Float64Array;
  b: number;
}

/** Solve the symmetric positive-definite system A x = y in place (Cholesky); A is n×n row-major. */
function solveSpd(a: Float64Array, y: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    if (!(d > 0)) throw new Error("the value head's system is not positive definite");
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / ljj;
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = y[i]!;
    for (let k = 0; k < i; k++) s -= a[i * n + k]! * z[k]!;
    z[i] = s / a[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * x[k]!;
    x[i] = s / a[i * n + i]!;
  }
  return x;
}

/** Ridge regression of `targets` on `features` (centred, so the bias is not penalised). */
export function fitValueHead(features: readonly (readonly number[])[], targets: readonly number[], ridge: number): ValueHead {
  const n = features.length;
  const d = features[0]?.length ?? 0;
  const mx = new Float64Array(d);
  for (const f of features) for (let j = 0; j < d; j++) mx[j]! += f[j]! / n;
  const my = targets.reduce((a, t) => a + t, 0) / Math.max(1, n);
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const f = features[i]!;
    const yi = targets[i]! - my;
    for (let j = 0; j < d; j++) {
      const xj = f[j]! - mx[j]!;
      xty[j]! += xj * yi;
      for (let k = 0; k <= j; k++) xtx[j * d + k]! += xj * (f[k]! - mx[k]!);
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) xtx[k * d + j] = xtx[j * d + k]!;
    xtx[j * d + j]! += ridge;
  }
  const w = d > 0 ? solveSpd(xtx, xty, d) : new Float64Array(0);
  let b = my;
  for (let j = 0; j < d; j++) b -= w[j]! * mx[j]!;
  return { w, b };
}

/** The head's prediction for `x`, in [0, 1]. */
export function predictValue(head: ValueHead, x: readonly number[]): number {
  let v = head.b;
  for (let j = 0; j < head.w.length; j++) v += head.w[j]! * x[j]!;
  return Math.min(1, Math.max(0, v));
}

const projections = new Map<string, Float64Array>();

/** `x` as is when it has at most `dims` entries, else a fixed random Gaussian projection of it (Johnson–Lindenstrauss). */
export function projectFeatures(x: readonly number[], dims: number): number[] {
  if (x.length <= dims) return [...x];
  const key = `${x.length}:${dims}`;
  let m = projections.get(key);
  if (!m) {
    const rng = new Rng(0x9c1);
    m = Float64Array.from({ length: dims * x.length }, () => rng.normal() / Math.sqrt(dims));
    projections.set(key, m);
  }
  return Array.from({ length: dims }, (_, i) => {
    let s = 0;
    for (let j = 0; j < x.length; j++) s += m![i * x.length + j]! * x[j]!;
    return s;
  });
}

/** The recent outcomes as (prompt id, mean reward), newest last. */
export function recentMeans(state: CurriculumState, window: number): { id: string; mean: number }[] {
  return state.recent.slice(-window).map((r) => ({ id: r.id, mean: r.mean }));
}

/** PCL selection: fit the value head on recent outcomes, pick the candidates predicted nearest the target. */
export function pclCurriculum(o: PclOptions = DEFAULT_PCL): Curriculum {
  return {
    name: "pcl",
    select: async (pool, state, ctx) => {
      if (!ctx.embed) throw new Error("the PCL curriculum needs the policy's embeddings (ctx.embed)");
      const candidates = sampleRows(pool, Math.ceil(ctx.batchSize * o.poolFactor), ctx.rng);
      const byId = new Map(pool.map((r) => [r.id, r]));
      const history = recentMeans(state, o.window).filter((h) => byId.has(h.id));
      // Too few outcomes to fit anything: every candidate is predicted at the target (a uniform draw).
      if (history.length < 8) {
        const info: Record<string, number> = { "pcl/trainPoints": history.length };
        return { chosen: candidates.slice(0, ctx.batchSize), info };
      }
      const features = (await ctx.embed([...history.map((h) => byId.get(h.id)!.prompt), ...candidates.map((c) => c.prompt)])).map((f) => projectFeatures(f, o.maxDims));
      const head = fitValueHead(features.slice(0, history.length), history.map((h) => h.mean), o.ridge);
      const fitError = history.reduce((a, h, i) => a + Math.abs(predictValue(head, features[i]!) - h.mean), 0) / history.length;
      const scored = candidates.map((row, i) => ({ row, p: predictValue(head, features[history.length + i]!) }));
      scored.sort((a, b) => Math.abs(a.p - o.target) - Math.abs(b.p - o.target));
      const chosen = scored.slice(0, ctx.batchSize);
      return {
        chosen: chosen.map((s) => s.row),
        info: { "pcl/trainPoints": history.length, "pcl/fitAbsError": fitError, "pcl/chosenPredictedMean": chosen.reduce((a, s) => a + s.p, 0) / chosen.length },
      };
    },
  };
}
