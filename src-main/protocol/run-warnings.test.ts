import { describe, expect, it } from "vitest";
import { noSignalWarning } from "./run-warnings.js";

const step = (step: number, zeroVarianceShare: number, rewardMean = 0) => ({ step, zeroVarianceShare, rewardMean });

describe("noSignalWarning", () => {
  it("warns once the first three steps had only zero-variance groups at reward 0", () => {
    expect(noSignalWarning([step(1, 1), step(2, 1)])).toBeNull();
    expect(noSignalWarning([step(1, 1), step(2, 1), step(3, 1)])).toMatch(/^No learning signal in the first 3 steps: 100 % of groups had zero reward variance \(mean reward 0\.00\).*too hard/);
  });

  it("is quiet while any of the latest steps has signal, and names later spans and easy prompts", () => {
    expect(noSignalWarning([step(1, 1), step(2, 0.5), step(3, 1)])).toBeNull();
    expect(noSignalWarning([step(1, 1), step(2, 1), step(3, 1), step(4, 0.75)])).toBeNull();
    expect(noSignalWarning([step(1, 0.5), step(2, 1, 1), step(3, 1, 1), step(4, 1, 1)])).toMatch(/steps 2–4.*too easy/);
  });

  it("names the whole streak, so a run watched late still reads 'the first N steps' (the e2e test raced a sliding window)", () => {
    const steps = Array.from({ length: 40 }, (_, i) => step(i + 1, 1));
    expect(noSignalWarning(steps)).toMatch(/^No learning signal in the first 40 steps:/);
    expect(noSignalWarning([step(1, 0.5), ...steps.slice(1)])).toMatch(/^No learning signal in steps 2–40:/);
  });
});
