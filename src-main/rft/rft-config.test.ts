import { describe, expect, it } from "vitest";
import { PAPER_PRESET, resolveRftConfig, RftPatchSchema, withPreset } from "./rft-config.js";

describe("run configuration", () => {
  it("a change holds only the fields it names: the others keep the run's values", () => {
    expect(RftPatchSchema.parse({ scheduler: "dapo" })).toEqual({ scheduler: "dapo" });
    const config = resolveRftConfig({ model: "m.gguf", dataset: "d.jsonl", steps: 3, temperature: 0.7 });
    const patched = resolveRftConfig({ ...config, ...RftPatchSchema.parse({ learningRate: 1e-3 }) });
    expect(patched).toMatchObject({ steps: 3, temperature: 0.7, learningRate: 1e-3 });
    expect(RftPatchSchema.safeParse({ groupSize: 3 }).success).toBe(false);
    expect(RftPatchSchema.safeParse({ steps: 0 }).success).toBe(false);
  });

  it("a preset supplies defaults that explicit fields override", () => {
    const paper = resolveRftConfig(withPreset("paper", { model: "m.gguf", dataset: "d.jsonl" }));
    expect(paper).toMatchObject(PAPER_PRESET);
    expect(resolveRftConfig(withPreset("paper", { model: "m.gguf", dataset: "d.jsonl", judgmentWeight: 0.1 })).judgmentWeight).toBe(0.1);
    expect(resolveRftConfig({ model: "m.gguf", dataset: "d.jsonl" })).toMatchObject({ metisWindow: 3, judgmentReward: "absolute" });
  });
});
