// The pretraining stream: slips are wrong answers of the same form; the held-out split is never drawn.
import { describe, expect, it } from "vitest";
import { TASK_FAMILIES } from "../datasets/tasks/suite.js";
import { scoreCompletion } from "../rewards/score.js";
import { decodeBytes } from "../model/byte-tokenizer.js";
import { Rng } from "../util/rng.js";
import { PRIOR_VARIANCE, pretrainBatch, randomTask, readingJudgmentItem, sampledGroupVariance, withTypo } from "./pretrain-data.js";

describe("withTypo", () => {
  it("changes exactly one letter or digit into another of its kind", () => {
    const rng = new Rng(3);
    for (const answer of [" 97", " x=>x+3+5+2", ' {"name":"email","arguments":{"to":"eve"}}', " 1234"]) {
      for (let k = 0; k < 50; k++) {
        const slip = withTypo(rng, answer);
        expect(slip.length).toBe(answer.length);
        const diffs = [...answer].flatMap((c, i) => (c === slip[i] ? [] : [i]));
        expect(diffs).toHaveLength(1);
        const [was, now] = [answer[diffs[0]!]!, slip[diffs[0]!]!];
        expect(/\d/.test(was)).toBe(/\d/.test(now));
        expect(/[a-z]/.test(was)).toBe(/[a-z]/.test(now));
      }
    }
    expect(withTypo(rng, " +-{}")).toBe(" +-{}");
  });

  it("turns a right arithmetic or code answer into a wrong one", async () => {
    const rng = new Rng(5);
    for (const family of ["arithmetic", "code"]) {
      for (let k = 0; k < 6; k++) {
        const row = TASK_FAMILIES[family]!(rng, 2, `t-${k}`);
        expect(await scoreCompletion(row.reward, row.reference!)).toBe(1);
        expect(await scoreCompletion(row.reward, withTypo(rng, row.reference!))).toBe(0);
      }
    }
  });
});

describe("pretrainBatch", () => {
  it("puts slips in about typoShare of the answers and none when it is 0", () => {
    const heldOut = new Set<string>();
    const count = (share: number): { slips: number; total: number } => {
      const rng = new Rng(7);
      const mirror = new Rng(7);
      let slips = 0, total = 0;
      for (let b = 0; b < 40; b++) {
        // Replay the same draws to learn the clean answers: the batch consumes the rng in a fixed order.
        const batch = pretrainBatch(rng, 8, heldOut, 0, () => 0, undefined, share);
        mirror.uniform();
        for (const seq of batch) {
          const row = randomTask(mirror, heldOut);
          if (mirror.uniform() < share) withTypo(mirror, row.reference!);
          const completion = decodeBytes(seq.tokens.slice(seq.completionStart, -1));
          total++;
          if (completion !== row.reference) slips++;
        }
      }
      return { slips, total };
    };
    expect(count(0).slips).toBe(0);
    const half = count(0.5);
    expect(half.slips / half.total).toBeGreaterThan(0.35);
    expect(half.slips / half.total).toBeLessThan(0.65);
  });
});

describe("reading judgment items", () => {
  it("answer the mean variance of the candidate's own cell among the examples, else the table's", () => {
    const rng = new Rng(11);
    let withCell = 0, without = 0;
    for (let n = 0; n < 300; n++) {
      const item = readingJudgmentItem(rng, new Set(), PRIOR_VARIANCE);
      expect(item.examples).toHaveLength(3);
      const same = item.examples.filter((e) => e.own);
      for (const e of same) expect([e.row.family, e.row.difficulty]).toEqual([item.candidate.family, item.candidate.difficulty]);
      if (same.length === 0) {
        without++;
        expect(item.answer).toBeCloseTo(PRIOR_VARIANCE(item.candidate), 12);
      } else {
        withCell++;
        expect(item.answer).toBeCloseTo(same.reduce((a, e) => a + e.variance, 0) / same.length, 12);
        // What a group of 8 can show: k(8 − k)/64.
        for (const e of same) expect(Number.isInteger(e.variance * 64)).toBe(true);
      }
    }
    // Most items can only be answered by reading; some teach the prior.
    expect(withCell / 300).toBeGreaterThan(0.75);
    expect(without).toBeGreaterThan(20);
  });

  it("answer, with the \"expected\" target, the cell's expected group variance instead of what the examples showed", () => {
    const [a, b] = [new Rng(4), new Rng(4)];
    let differs = 0;
    for (let n = 0; n < 100; n++) {
      const shown = readingJudgmentItem(a, new Set(), PRIOR_VARIANCE);
      const expected = readingJudgmentItem(b, new Set(), PRIOR_VARIANCE, undefined, "expected");
      // The same draws: only the answer changes.
      expect(expected.examples).toEqual(shown.examples);
      if (!shown.examples.some((e) => e.own)) {
        expect(expected.answer).toBe(shown.answer);
        continue;
      }
      expect(expected.answer).toBeLessThanOrEqual(0.25 * (7 / 8) + 1e-12);
      if (Math.abs(expected.answer - shown.answer) > 1e-9) differs++;
    }
    expect(differs).toBeGreaterThan(50);
  });

  it("group variances follow p(1 − p)(1 − 1/n) on average", () => {
    const rng = new Rng(2);
    const draws = Array.from({ length: 20000 }, () => sampledGroupVariance(rng, 0.3));
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeCloseTo(0.3 * 0.7 * (7 / 8), 2);
  });

  it("are drawn only with a reading share: none at 0 (older recipes), all judgment items at 1", () => {
    const exampleCounts = (share: number): Set<number> => {
      const rng = new Rng(9);
      const counts = new Set<number>();
      for (let i = 0; i < 60; i++) {
        for (const seq of pretrainBatch(rng, 8, new Set(), 1, PRIOR_VARIANCE, undefined, 0, share)) counts.add(decodeBytes(seq.tokens).split(" => ").length - 1);
      }
      return counts;
    };
    expect([...exampleCounts(1)]).toEqual([3]);
    // Older judgment items show 2 to 6 examples.
    expect(exampleCounts(0).size).toBeGreaterThan(3);
  });
});
