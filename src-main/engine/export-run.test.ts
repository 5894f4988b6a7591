// Exports read the newest checkpoint that is whole: a damaged newest one falls back to the one before.
import { existsSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readLoraGguf } from "../model/lora-file.js";
import { RftRun } from "../rft/rft-run.js";
import { useTempDir } from "../testing/temp-dir.js";
import { exportRun } from "./export-run.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();

describe("run exports", () => {
  it("export the newest readable checkpoint, passing over a truncated one", async () => {
    const run = await RftRun.create(tmp.path("runs"), { model: root("resources/models/metis-tiny.gguf"), dataset: root("resources/datasets/synthetic-train.jsonl"), scheduler: "uniform", steps: 4, batchSize: 2, groupSize: 4, maxTokens: 16, checkpointEvery: 2, seed: 3 });
    await run.run();
    const dir = run.store.dir;
    await run.dispose();
    expect(await exportRun(dir, "gguf-lora")).toBe(join(dir, "exports", "adapter-step-0000004.gguf"));
    truncateSync(join(dir, "checkpoints", "step-0000004", "state.safetensors"), 100);
    const path = await exportRun(dir, "gguf-lora");
    expect(path).toBe(join(dir, "exports", "adapter-step-0000002.gguf"));
    expect(existsSync(path)).toBe(true);
    expect(readLoraGguf(path).tensors.length).toBeGreaterThan(0);
    truncateSync(join(dir, "checkpoints", "step-0000002", "state.safetensors"), 100);
    await expect(exportRun(dir, "peft")).rejects.toThrow(/no checkpoint could be read for export/);
  }, 120_000);
});
