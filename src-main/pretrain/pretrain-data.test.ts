// The pretraining stream: slips are wrong answers of the same form; the held-out split is never drawn.
import { describe, expect, it } from "vitest";
import { TASK_FAMILIES } from "../datasets/tasks/suite.js";
import { scoreCompletion } from "../rewards/score.js";
import { decodeBytes } from "../model/byte-tokenizer.js";
import { Rng } from "../util/rng.js";
import { pretrainBatch, randomTask, withTypo } from "./pretrain-data.js";

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
