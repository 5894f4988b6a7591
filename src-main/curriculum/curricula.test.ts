import { describe, expect, it } from "vitest";
import type { TaskRow } from "../datasets/task-row.js";
import { Rng } from "../util/rng.js";
import { emptyCurriculumState, OUTCOME_DECAY, recordOutcome, type Judgment, type Outcome, type SelectContext } from "./curriculum.js";
import { zeroVarianceStreak } from "./greso.js";
import { judgmentReward, metisCurriculum, movingBaselineAdvantages, pickExamples, DEFAULT_METIS } from "./metis.js";
import { posterior, sampleBeta } from "./mopps.js";
import { fitValueHead, pclCurriculum, predictValue, projectFeatures } from "./pcl.js";
import { CURRICULA, makeCurriculum } from "./registry.js";

const rows: TaskRow[] = Array.from({ length: 40 }, (_, i) => ({ id: `p${i}`, prompt: `Q: ${i}+1=?\nA:`, reward: { kind: "math", answer: String(i + 1) } }));
const noJudge = async (): Promise<Judgment[]> => { throw new Error("this curriculum must not call the judge"); };
const ctx = (seed: number, judge: SelectContext["judge"] = noJudge): SelectContext => ({ step: 10, rng: new Rng(seed), batchSize: 8, judge });

describe("curricula", () => {
  it("are registered by name; an unknown name lists the valid ones", () => {
    for (const name of CURRICULA) expect(makeCurriculum(name).name).toBe(name);
    expect(() => makeCurriculum("random")).toThrow('unknown scheduler "random" (valid: metis, uniform, dapo, greso, mopps, pcl)');
  });

  it("uniform: a batch of distinct prompts, reproducible for a seed", async () => {
    const u = makeCurriculum("uniform");
    const a = await u.select(rows, emptyCurriculumState(), ctx(1));
    const b = await u.select(rows, emptyCurriculumState(), ctx(1));
    expect(a.chosen.map((r) => r.id)).toEqual(b.chosen.map((r) => r.id));
    expect(new Set(a.chosen.map((r) => r.id)).size).toBe(8);
  });

  it("dapo: over-samples into a reserve and asks the loop to drop zero-variance groups", async () => {
    const s = await makeCurriculum("dapo").select(rows, emptyCurriculumState(), ctx(2));
    expect(s.chosen).toHaveLength(8);
    expect(s.reserve).toHaveLength(16);
    expect(s.filterZeroVariance).toBe(true);
  });

  it("greso: skips prompts after zero-variance streaks, more the longer the streak, never for good", async () => {
    const state = emptyCurriculumState();
    for (let i = 0; i < 20; i++) for (let s = 0; s < 5; s++) recordOutcome(state, `p${i}`, { step: s, variance: 0, mean: 1, samples: 8 });
    expect(zeroVarianceStreak(state, "p0")).toBe(5);
    let stale = 0;
    for (let seed = 0; seed < 200; seed++) {
      const s = await makeCurriculum("greso").select(rows, state, ctx(seed));
      stale += s.chosen.filter((r) => Number(r.id.slice(1)) < 20).length;
    }
    // Half the pool is stale; uniform would give 4 of 8 per batch. Skipping at 0.9 leaves far fewer, but some.
    expect(stale / 200).toBeLessThan(1.5);
    expect(stale).toBeGreaterThan(0);
  });

  it("mopps: posterior from outcomes; Thompson sampling prefers prompts near a ½ success rate", async () => {
    const state = emptyCurriculumState();
    for (let i = 0; i < 40; i++) recordOutcome(state, `p${i}`, { step: 9, variance: 0, mean: i < 8 ? 0.5 : i % 2, samples: 8 });
    expect(posterior(state, "p0", 9, { target: 0.5, prior: 1 })).toEqual([5, 5]);
    let near = 0;
    for (let seed = 0; seed < 50; seed++) near += (await makeCurriculum("mopps").select(rows, state, ctx(seed))).chosen.filter((r) => Number(r.id.slice(1)) < 8).length;
    expect(near / 50).toBeGreaterThan(6);
    const rng = new Rng(3);
    const draws = Array.from({ length: 4000 }, () => sampleBeta(rng, 2, 6));
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeCloseTo(0.25, 1);
  });

  it("per-prompt summaries equal the naive twins over the full outcome history (GRESO streak, MoPPS posterior)", () => {
    const state = emptyCurriculumState();
    const history = new Map<string, Outcome[]>();
    const rng = new Rng(8);
    for (let step = 1; step <= 300; step++) for (const row of rng.shuffle([...rows]).slice(0, 8)) {
      const mean = rng.int(5) / 4;
      const o = { step, mean, variance: rng.uniform() < 0.5 ? 0 : mean * (1 - mean), samples: 4 };
      recordOutcome(state, row.id, o);
      history.set(row.id, [...(history.get(row.id) ?? []), o]);
    }
    const o = { target: 0.5, prior: 1 };
    for (const [id, outcomes] of history) {
      let streak = 0;
      for (let i = outcomes.length - 1; i >= 0 && outcomes[i]!.variance === 0; i--) streak++;
      expect(zeroVarianceStreak(state, id)).toBe(streak);
      let a = o.prior, b = o.prior;
      for (const out of outcomes) {
        const w = OUTCOME_DECAY ** (310 - out.step);
        a += w * out.mean * out.samples;
        b += w * (1 - out.mean) * out.samples;
      }
      const [pa, pb] = posterior(state, id, 310, o);
      expect(Math.abs(pa - a) / a).toBeLessThan(1e-12);
      expect(Math.abs(pb - b) / b).toBeLessThan(1e-12);
      expect(state.prompts[id]!.groups).toBe(outcomes.length);
    }
    expect(state.recent).toHaveLength(256);
  });

  it("metis: judges k×batch candidates, allocates to the highest predictions plus exploration, counts parse failures", async () => {
    const state = emptyCurriculumState();
    for (let i = 0; i < 10; i++) recordOutcome(state, `p${i}`, { step: i, variance: i / 40, mean: 0.5, samples: 8 });
    let judged: { id: string; prompt: string }[] = [];
    const judge: SelectContext["judge"] = async (prompts) => {
      judged = prompts;
      return prompts.map((p) => {
        const n = Number(p.id.slice(1));
        const predicted = n % 5 === 0 ? null : n / 160; // higher ids predict more variance
        return { id: p.id, prompt: p.prompt, predicted, completions: [{ text: predicted === null ? "?" : ` ${predicted}`, promptTokens: [1], tokens: [2], predicted }] };
      });
    };
    const s = await makeCurriculum("metis").select(rows, state, ctx(4, judge));
    expect(judged).toHaveLength(24);
    expect(judged[0]!.prompt).toMatch(/^Judge variance\.\n(.* => \d\.\d\d\n){3}New: /);
    expect(s.chosen).toHaveLength(8);
    const best = judged.map((j) => Number(j.id.slice(1))).filter((n) => n % 5 !== 0).sort((a, b) => b - a).slice(0, 6);
    expect(s.chosen.slice(0, 6).map((r) => Number(r.id.slice(1)))).toEqual(best);
    expect(s.info["metis/parseFailures"]).toBe(judged.filter((j) => Number(j.id.slice(1)) % 5 === 0).length);
    expect(s.judgments).toHaveLength(24);
    // Which chosen prompts the judge picked (the 6 top-ranked) and which exploration drew (the other
    // 2, from the 18 candidates ranked below them).
    expect(Object.keys(s.picks!).sort()).toEqual(s.chosen.map((r) => r.id).sort());
    expect(s.chosen.map((r) => s.picks![r.id])).toEqual([...Array<string>(6).fill("judge"), "explore", "explore"]);
    const judgeIds = new Set(best.map((n) => `p${n}`));
    for (const r of s.chosen.slice(6)) {
      expect(judgeIds.has(r.id)).toBe(false);
      expect(judged.some((j) => j.id === r.id)).toBe(true);
    }
    // No exploration share: every chosen prompt is the judge's.
    const all = await metisCurriculum({ ...DEFAULT_METIS, exploration: 0 }).select(rows, state, ctx(4, judge));
    expect(all.chosen.map((r) => all.picks![r.id])).toEqual(Array<string>(8).fill("judge"));
  });

  it("metis: examples are the most recent outcomes, or spread over variances", () => {
    const state = emptyCurriculumState();
    for (let i = 0; i < 30; i++) recordOutcome(state, `p${i}`, { step: i, variance: (i % 10) / 40, mean: 0.5, samples: 8 });
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(pickExamples(state, byId, DEFAULT_METIS).map((e) => e.prompt)).toEqual(rows.slice(27, 30).map((r) => r.prompt));
    const strat = pickExamples(state, byId, { ...DEFAULT_METIS, examples: "stratified" }).map((e) => e.variance);
    expect(strat).toEqual([...strat].sort((a, b) => a - b));
    expect(strat[0]).toBeLessThan(strat.at(-1)!);
  });

  it("metis: similar examples are the candidate's cell first, then its family, then any, newest last", () => {
    const cells = Array.from({ length: 12 }, (_, i): TaskRow => ({ id: `c${i}`, prompt: `Q${i}`, family: i < 6 ? "code" : "arithmetic", difficulty: 1 + (i % 3), reward: { kind: "math", answer: "1" } }));
    const byId = new Map(cells.map((r) => [r.id, r]));
    const state = emptyCurriculumState();
    for (let i = 0; i < 12; i++) recordOutcome(state, `c${i}`, { step: i, variance: i / 100, mean: 0.5, samples: 8 });
    const similar = { ...DEFAULT_METIS, examples: "similar" as const };
    // c0 is code at difficulty 1: its cell holds c0 and c3; then the newest code row (c5); newest last.
    expect(pickExamples(state, byId, similar, cells[0]).map((e) => e.prompt)).toEqual(["Q0", "Q3", "Q5"]);
    // An arithmetic candidate at difficulty 2 (c7, c10 share its cell).
    expect(pickExamples(state, byId, similar, cells[7]).map((e) => e.prompt)).toEqual(["Q7", "Q10", "Q11"]);
    // Rows without cells are all alike: the most recent, as "recent" gives.
    const plain = new Map(rows.map((r) => [r.id, r]));
    const s2 = emptyCurriculumState();
    for (let i = 0; i < 10; i++) recordOutcome(s2, `p${i}`, { step: i, variance: 0.1, mean: 0.5, samples: 8 });
    expect(pickExamples(s2, plain, similar, rows[0]).map((e) => e.prompt)).toEqual(pickExamples(s2, plain, DEFAULT_METIS).map((e) => e.prompt));
  });

  it("metis: with similar examples each candidate's judgment prompt shows its own cell's outcomes", async () => {
    const cells = Array.from({ length: 40 }, (_, i): TaskRow => ({ id: `c${i}`, prompt: `Q${i}`, family: i % 2 === 0 ? "code" : "arithmetic", difficulty: 1, reward: { kind: "math", answer: "1" } }));
    const state = emptyCurriculumState();
    for (let i = 0; i < 6; i++) recordOutcome(state, `c${i}`, { step: i, variance: i % 2 === 0 ? 0.2 : 0, mean: 0.5, samples: 8 });
    const seen: { id: string; prompt: string }[] = [];
    const judge: SelectContext["judge"] = async (prompts) => {
      seen.push(...prompts);
      return prompts.map((p) => ({ id: p.id, prompt: p.prompt, completions: [], predicted: 0.1 }));
    };
    const sel = await metisCurriculum({ ...DEFAULT_METIS, examples: "similar" }).select(cells, state, ctx(5, judge));
    expect(seen).toHaveLength(24);
    // Each judged candidate's examples' mean is reported (the panel's baseline judge compares with it).
    for (const p of seen) expect(sel.examplesMean?.[p.id]).toBeCloseTo(Number(p.id.slice(1)) % 2 === 0 ? 0.2 : 0, 12);
    for (const p of seen) {
      const n = Number(p.id.slice(1));
      const shown = p.prompt.split("\n").filter((l) => l.includes(" => "));
      expect(shown).toHaveLength(3);
      // Every example is of the candidate's family, with that family's variance.
      for (const line of shown) expect(line.endsWith(n % 2 === 0 ? "0.20" : "0.00")).toBe(true);
    }
    // Judged grouped by cell: at most one change from one cell to the other.
    const families = seen.map((p) => Number(p.id.slice(1)) % 2);
    expect(families.filter((f, i) => i > 0 && f !== families[i - 1]).length).toBe(1);
  });

  it("self-judgment reward: 1 at the observed variance, falling with distance, 0 for no answer", () => {
    expect(judgmentReward(0.2, 0.2)).toBe(1);
    expect(judgmentReward(0.1, 0.2)).toBeCloseTo(0.6, 10);
    expect(judgmentReward(0.9, 0)).toBe(0);
    expect(judgmentReward(null, 0.1)).toBe(0);
    // The paper's squared error: 1 − (4(v̂ − v))².
    expect(judgmentReward(0.1, 0.2, "squared")).toBeCloseTo(1 - 0.16, 10);
    expect(judgmentReward(0.2, 0.2, "squared")).toBe(1);
    expect(judgmentReward(0.25, 0, "squared")).toBe(0);
    expect(judgmentReward(null, 0, "squared")).toBe(0);
  });
});

describe("moving-average judgment baseline", () => {
  it("starts from the first step's mean, then decays toward each step's mean", () => {
    const first = movingBaselineAdvantages([1, 0.5], null);
    expect(first.advantages).toEqual([0.25, -0.25]);
    expect(first.baseline).toBeCloseTo(0.75, 12);
    const second = movingBaselineAdvantages([0.5], first.baseline);
    expect(second.advantages[0]).toBeCloseTo(-0.25, 12);
    expect(second.baseline).toBeCloseTo(0.9 * 0.75 + 0.1 * 0.5, 12);
    expect(movingBaselineAdvantages([], 0.3)).toEqual({ advantages: [], baseline: 0.3 });
  });
});

describe("PCL: a value head on the policy's embeddings", () => {
  it("the ridge fit recovers a linear rule and predictions are clipped to [0, 1]", () => {
    const rng = new Rng(4);
    const xs = Array.from({ length: 200 }, () => [rng.normal(), rng.normal(), rng.normal()]);
    const ys = xs.map((x) => 0.5 + 0.2 * x[0]! - 0.1 * x[2]!);
    const head = fitValueHead(xs, ys, 1e-6);
    expect(head.w[0]).toBeCloseTo(0.2, 4);
    expect(head.w[1]).toBeCloseTo(0, 4);
    expect(head.w[2]).toBeCloseTo(-0.1, 4);
    expect(head.b).toBeCloseTo(0.5, 4);
    expect(predictValue(head, [10, 0, 0])).toBe(1);
    expect(predictValue(head, [-10, 0, 0])).toBe(0);
  });

  it("projects wide features to a fixed lower dimension, the same way every time", () => {
    const x = Array.from({ length: 600 }, (_, i) => Math.sin(i));
    expect(projectFeatures(x, 64)).toHaveLength(64);
    expect(projectFeatures(x, 64)).toEqual(projectFeatures(x, 64));
    expect(projectFeatures([1, 2], 64)).toEqual([1, 2]);
  });

  it("chooses the candidates predicted nearest p = ½ once it has outcomes, uniformly before", async () => {
    // Embedding: the prompt's number; outcome: easy below 10, hard above 30, in between halfway.
    const embed = async (prompts: string[]): Promise<number[][]> => prompts.map((p) => [Number(/Q: (\d+)/.exec(p)![1])]);
    const truth = (i: number): number => (i < 10 ? 1 : i > 30 ? 0 : 1 - (i - 10) / 20);
    const pcl = pclCurriculum({ poolFactor: 5, target: 0.5, window: 256, ridge: 1e-3, maxDims: 256 });
    const cold = await pcl.select(rows, emptyCurriculumState(), { ...ctx(5), embed });
    expect(cold.chosen).toHaveLength(8);
    expect(cold.info["pcl/trainPoints"]).toBe(0);
    const state = emptyCurriculumState();
    rows.forEach((r, i) => recordOutcome(state, r.id, { step: 1, mean: truth(i), variance: truth(i) * (1 - truth(i)), samples: 8 }));
    const warm = await pcl.select(rows, state, { ...ctx(5), embed });
    expect(warm.info["pcl/trainPoints"]).toBe(40);
    const distance = (ids: string[]): number => ids.reduce((a, id) => a + Math.abs(truth(Number(id.slice(1))) - 0.5), 0) / ids.length;
    expect(distance(warm.chosen.map((r) => r.id))).toBeLessThan(distance(cold.chosen.map((r) => r.id)));
    await expect(pcl.select(rows, state, ctx(5))).rejects.toThrow(/needs the policy's embeddings/);
  });
});
