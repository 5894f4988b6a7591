import { describe, expect, it } from "vitest";
import { formatRoute, parseRoute } from "./router";

describe("hash routes", () => {
  it("round-trip every screen and a run", () => {
    for (const section of ["models", "datasets", "new-run", "runs", "run"] as const) expect(parseRoute(formatRoute({ section, runId: null }))).toEqual({ section, runId: null });
    const runId = "2026-11-26T14-02-00-000Z-1a2b3c4d";
    expect(formatRoute({ section: "run", runId })).toBe(`#/run/${runId}`);
    expect(parseRoute(`#/run/${runId}`)).toEqual({ section: "run", runId });
    expect(parseRoute(formatRoute({ section: "run", runId: "a b/c" }))).toEqual({ section: "run", runId: "a b/c" });
  });

  it("an empty, unknown or malformed hash is the Models screen or a run-less run screen", () => {
    expect(parseRoute("")).toEqual({ section: "models", runId: null });
    expect(parseRoute("#/nowhere")).toEqual({ section: "models", runId: null });
    expect(parseRoute("#/run/")).toEqual({ section: "run", runId: null });
    expect(parseRoute("#/run/%E0%A4%A")).toEqual({ section: "run", runId: null });
    expect(parseRoute("#/runs/extra")).toEqual({ section: "runs", runId: null });
  });
});
