import { describe, expect, it } from "vitest";
import { mergeLoaded } from "./load-merge";

describe("mergeLoaded", () => {
  it("keeps a status that arrived while the history loaded (a run that started meanwhile is running)", () => {
    const r = mergeLoaded({ status: "created", metrics: [] }, { status: "running", steps: [] });
    expect(r.status).toBe("running");
  });
  it("keeps the loaded status when nothing streamed", () => {
    expect(mergeLoaded({ status: "paused", metrics: [{ step: 1 }] }, { status: null, steps: [] })).toEqual({ status: "paused", metrics: [{ step: 1 }] });
  });
  it("appends steps that streamed in after the loaded ones, once each", () => {
    const r = mergeLoaded({ status: "running", metrics: [{ step: 1 }, { step: 2 }] }, { status: null, steps: [{ step: 2 }, { step: 3 }, { step: 4 }] });
    expect(r.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
  });
});
