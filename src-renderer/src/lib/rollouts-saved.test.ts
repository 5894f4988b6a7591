import { describe, expect, it } from "vitest";
import { rolloutsSaved, type OutcomeStep } from "./rollouts-saved";

const step = (n: number, cells: [string, number][], info: Record<string, number> = {}, wastedRollouts = 0): OutcomeStep => ({ step: n, cells: cells.map(([id, variance]) => ({ id, variance })), info, wastedRollouts });

describe("rollouts saved against uniform", () => {
  it("expects uniform's zero-variance share from every prompt seen so far, by its latest outcome", () => {
    const r = rolloutsSaved(
      [
        step(1, [["a", 0], ["b", 0], ["c", 0.1], ["d", 0.2]]), // seen: half zero
        step(2, [["c", 0.2], ["e", 0.1]]), // expected 0.5 × 2 = 1 zero group, met 0
        step(3, [["a", 0.1], ["f", 0]]), // seen a..e, a and b zero: 2/5 × 2 = 0.8 expected, met 1
      ],
      8,
    );
    expect(r.uniformShare).toEqual([null, 0.5, 2 / 5]);
    expect(r.groups).toBe(4);
    expect(r.zeroGroups).toBe(1);
    expect(r.uniformZeroGroups).toBeCloseTo(1.8);
    expect(r.savedGroups).toBeCloseTo(0.8);
    expect(r.savedRollouts).toBeCloseTo(6.4);
  });

  it("a prompt's latest outcome replaces its earlier one in the expectation", () => {
    const r = rolloutsSaved([step(1, [["a", 0]]), step(2, [["a", 0.1]]), step(3, [["a", 0]]), step(4, [["b", 0]])], 4);
    expect(r.uniformShare).toEqual([null, 1, 0, 1]);
  });

  it("is about zero for uniform sampling of a dataset whose zero-variance rate does not change", () => {
    // Uniform draws over 400 prompts, a fixed 30 % of them always zero-variance.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const steps = Array.from({ length: 200 }, (_, i) => step(i + 1, Array.from({ length: 8 }, () => {
      const id = Math.floor(rand() * 400);
      return [`p${id}`, id < 120 ? 0 : 0.1] as [string, number];
    })));
    const r = rolloutsSaved(steps, 8);
    expect(Math.abs(r.savedGroups) / r.groups).toBeLessThan(0.05);
    expect(r.uniformShare.at(-1)).toBeCloseTo(0.3, 1);
  });

  it("adds up GRESO's skipped groups and DAPO's dropped rollouts", () => {
    const r = rolloutsSaved([step(1, [["a", 0.1]], { "greso/skipped": 3 }, 8), step(2, [["b", 0.1]], { "greso/skipped": 2 })], 8);
    expect(r.skippedGroups).toBe(5);
    expect(r.droppedRollouts).toBe(8);
  });
});
