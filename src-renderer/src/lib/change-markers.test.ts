import { describe, expect, it } from "vitest";
import { changeMarkers, formatSetting } from "./change-markers";

describe("change markers", () => {
  it("label a change with the value before it, from the metrics of the step before", () => {
    const metrics = [1, 2, 3, 4].map((step) => ({ step, scheduler: step <= 2 ? "uniform" : "dapo", learningRate: step <= 3 ? 0.002 : 0.001 }));
    expect(changeMarkers([{ step: 2, patch: { scheduler: "dapo" } }, { step: 3, patch: { learningRate: 0.001 } }], metrics)).toEqual([
      { step: 2.5, label: "uniform → dapo" },
      { step: 3.5, label: "lr 2e-3 → 1e-3" },
    ]);
  });

  it("name the configured value a change replaced, not the scheduled rate the step before ran at", () => {
    // A cosine schedule: step 3 ran at 1.71e-3 of the configured 2e-3.
    const metrics = [1, 2, 3].map((step) => ({ step, scheduler: "uniform", learningRate: [0.002, 0.00193, 0.00171][step - 1]! }));
    expect(changeMarkers([{ step: 3, patch: { learningRate: 0.001 }, before: { learningRate: 0.002 } }], metrics)).toEqual([{ step: 3.5, label: "lr 2e-3 → 1e-3" }]);
  });

  it("fall back to earlier changes, then to the new value alone", () => {
    expect(changeMarkers([{ step: 0, patch: { judgmentWeight: 0.3 } }, { step: 5, patch: { judgmentWeight: 0.1, scheduler: "greso" } }], [])).toEqual([
      { step: 0.5, label: "λ 0.3" },
      { step: 5.5, label: "λ 0.3 → 0.1, greso" },
    ]);
    expect(formatSetting(0.0005)).toBe("5e-4");
    expect(formatSetting(0.25)).toBe("0.25");
  });
});
