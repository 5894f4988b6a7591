// The engine behind both hosts, driven through its command interface as the renderer drives it.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "../protocol/protocol.js";
import { useTempDir } from "../testing/temp-dir.js";
import { Engine } from "./engine.js";

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const tmp = useTempDir();
let engine: Engine;
afterAll(() => engine?.close());

describe("engine commands", () => {
  it("registers the built-ins, validates every command, imports, runs, pauses and exports", async () => {
    engine = await Engine.open({ userData: tmp.path("user"), resources: root("resources"), host: "test", version: "0.0.0" });
    const models = (await engine.handle("models.list", {})) as { builtin: boolean; info: { architecture: string } }[];
    expect(models.filter((m) => m.builtin).map((m) => m.info.architecture)).toEqual(["llama"]);
    await expect(engine.handle("models.wipe", {})).rejects.toThrow('unknown command "models.wipe"');
    await expect(engine.handle("runs.pause", { runId: 5 })).rejects.toThrow(/runs.pause: invalid parameters: runId/);
    await expect(engine.handle("datasets.preview", { path: root("src-main/testing/fixtures/gsm8k/test.jsonl"), mapping: { mapping: { prompt: 3 } } })).rejects.toThrow(/invalid field mapping/);

    engine.grant(root("src-main/testing/fixtures/gsm8k/test.jsonl")); // as the Electron host does when the user drops or picks it
    const preview = (await engine.handle("datasets.preview", { path: root("src-main/testing/fixtures/gsm8k/test.jsonl") })) as { preset: string; records: number; source: string };
    expect(preview).toMatchObject({ preset: "gsm8k", records: 100 });
    const imported = (await engine.handle("datasets.import", { source: preview.source, name: "gsm8k", mapping: { preset: "gsm8k" } })) as { id: string; path: string; rows: number };
    expect(imported.rows).toBe(100);
    expect(existsSync(imported.path)).toBe(true);

    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const { runId } = (await engine.handle("runs.start", { config: { scheduler: "uniform", steps: 50, batchSize: 2, groupSize: 4, maxTokens: 12 } })) as { runId: string };
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (events.some((e) => e.type === "run.step" && e.runId === runId)) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    await engine.handle("runs.pause", { runId });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (events.some((e) => e.type === "run.status" && e.status === "paused")) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    const history = (await engine.handle("runs.metrics", { runId })) as { run: { status: string; config: { evalDataset?: string } }; metrics: unknown[]; prompts: unknown[] };
    expect(history.run.status).toBe("paused");
    expect(history.run.config.evalDataset).toMatch(/synthetic-test\.jsonl$/); // the built-in set brings its held-out split
    expect(history.metrics.length).toBeGreaterThan(0);
    expect(history.prompts.length).toBe(930);
    const exported = (await engine.handle("runs.export", { runId, format: "gguf-lora" })) as { path: string };
    expect(existsSync(exported.path)).toBe(true);
    const runs = (await engine.handle("runs.list", {})) as { id: string; status: string }[];
    expect(runs.find((r) => r.id === runId)?.status).toBe("paused");
  }, 120_000);
});
