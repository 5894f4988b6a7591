import { describe, expect, it } from "vitest";
import { compareLabel } from "./compare-label";

describe("compareLabel", () => {
  it("says a default name's scheduler once", () => {
    expect(compareLabel("uniform · metis-tiny · 11-26 14:02", ["uniform", "uniform"], "uniform")).toBe("uniform · metis-tiny · 11-26 14:02");
  });
  it("puts the schedulers before a name of the user's", () => {
    expect(compareLabel("walk metis", ["metis"], "metis")).toBe("metis · walk metis");
  });
  it("shows a switch mid-run, without repeating the default name's first scheduler", () => {
    expect(compareLabel("metis · metis-tiny · 11-26 14:02", ["metis", "metis", "uniform"], "uniform")).toBe("metis → uniform · metis-tiny · 11-26 14:02");
  });
  it("falls back to the configured scheduler before any step", () => {
    expect(compareLabel("dapo · metis-tiny · 11-26 14:02", [], "dapo")).toBe("dapo · metis-tiny · 11-26 14:02");
  });
  it("keeps a name that only looks like a scheduler", () => {
    expect(compareLabel("uniformity test", ["uniform"], "uniform")).toBe("uniform · uniformity test");
  });
});
