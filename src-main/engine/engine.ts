// The engine behind every host: a registry of models, datasets and runs (lowdb app.json), the
// command handlers of the protocol, and the live runs whose events it forwards. Plain Node.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import { TEST_FILE, TRAIN_FILE, readTaskRows } from "../datasets/default-datasets.js";
import { importDataset, type MappingChoice } from "../datasets/import/import-dataset.js";
import { FieldMappingSchema } from "../datasets/import/field-mapping.js";
import { readModelInfo, type ModelInfo } from "../model/model-info.js";
import { Commands, isCommand, parseParams, type CommandName, type CommandResult, type EngineEvent } from "../protocol/protocol.js";
import type { RftConfigInput, RftPatch } from "../rft/rft-config.js";
import { RftRun, type RftEvent } from "../rft/rft-run.js";
import { RunStore } from "../store/run-store.js";
import { exportRun } from "./export-run.js";

interface ModelEntry { id: string; name: string; path: string; builtin: boolean; addedAt: string }
interface DatasetEntry { id: string; name: string; source: string; path: string; preset: string; rows: number; builtin: boolean; addedAt: string }
interface AppDoc { models: ModelEntry[]; datasets: DatasetEntry[]; runs: { id: string; dir: string }[] }

export interface EngineOptions {
  /** Where the app keeps its files (Electron's userData; ~/.metis-workbench headless). */
  userData: string;
  /** The shipped resources folder (built-in model and datasets). */
  resources: string;
  host: string;
  version: string;
}

/** Engine state and command handling. */
export class Engine {
  private readonly live = new Map<string, { run: RftRun; running: Promise<unknown> | null }>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();

  private constructor(
    private readonly o: EngineOptions,
    private readonly db: Low<AppDoc>,
  ) {}

  /** Open (or create) the app's files and register the built-in model and datasets. */
  static async open(o: EngineOptions): Promise<Engine> {
    for (const d of ["models", "datasets", "uploads", "runs"]) mkdirSync(join(o.userData, d), { recursive: true });
    const db = new Low(new JSONFile<AppDoc>(join(o.userData, "app.json")), { models: [], datasets: [], runs: [] });
    await db.read();
    const engine = new Engine(o, db);
    await engine.registerBuiltins();
    return engine;
  }

  private async registerBuiltins(): Promise<void> {
    const now = new Date().toISOString();
    const model = join(this.o.resources, "models", "metis-tiny.gguf");
    if (existsSync(model) && !this.db.data.models.some((m) => m.builtin)) this.db.data.models.push({ id: "builtin-metis-tiny", name: "metis-tiny (built-in)", path: model, builtin: true, addedAt: now });
    for (const [file, name] of [[TRAIN_FILE, "Synthetic tasks — train"], [TEST_FILE, "Synthetic tasks — held-out test"]] as const) {
      const path = join(this.o.resources, "datasets", file);
      if (existsSync(path) && !this.db.data.datasets.some((d) => d.builtin && d.path === path)) {
        this.db.data.datasets.push({ id: `builtin-${file.replace(/\.jsonl$/, "")}`, name, source: path, path, preset: "metis", rows: readTaskRows(path).length, builtin: true, addedAt: now });
      }
    }
    await this.db.write();
  }

  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: RftEvent): void {
    const event: EngineEvent =
      e.type === "step" ? { type: "run.step", runId: e.runId, metrics: e.metrics as unknown as Record<string, unknown> }
      : e.type === "status" ? { type: "run.status", runId: e.runId, status: e.status, step: e.step, ...(e.error ? { error: e.error } : {}) }
      : e.type === "checkpoint" ? { type: "run.checkpoint", runId: e.runId, step: e.step, dir: e.dir }
      : { type: "run.patch", runId: e.runId, step: e.step, patch: e.patch as Record<string, unknown> };
    for (const l of this.listeners) l(event);
  }

  /** Handle one command from a host: validates the name and parameters, returns the result. */
  async handle(command: string, rawParams: unknown): Promise<unknown> {
    if (!isCommand(command)) throw new Error(`unknown command "${command}"`);
    const result = await this.dispatch(command, rawParams);
    return Commands[command].result.parse(result);
  }

  private async dispatch(command: CommandName, raw: unknown): Promise<unknown> {
    switch (command) {
      case "app.info":
        return { version: this.o.version, host: this.o.host, userData: this.o.userData } satisfies CommandResult<"app.info">;
      case "models.list":
        return this.db.data.models.map((m) => ({ ...m, info: safeInfo(m.path) }));
      case "models.add": {
        const p = parseParams("models.add", raw);
        const path = p.contentBase64 ? this.saveUpload("models", p.name ?? "model.gguf", p.contentBase64) : resolve(p.path ?? "");
        const info = readModelInfo(path); // validates the file; errors name it
        const entry: ModelEntry = { id: randomUUID(), name: p.name ?? basename(path), path, builtin: false, addedAt: new Date().toISOString() };
        this.db.data.models.push(entry);
        await this.db.write();
        return { ...entry, info };
      }
      case "datasets.list":
        return this.db.data.datasets;
      case "datasets.preview": {
        const p = parseParams("datasets.preview", raw);
        const source = p.contentBase64 ? this.saveUpload("uploads", p.name ?? "dataset.jsonl", p.contentBase64) : resolve(p.path ?? "");
        const r = await importDataset(source, toChoice(p.mapping));
        return { source, preset: r.preset, records: r.records, rows: r.rows.slice(0, 20) as unknown as Record<string, unknown>[], errors: r.errors.slice(0, 200) };
      }
      case "datasets.import": {
        const p = parseParams("datasets.import", raw);
        const r = await importDataset(p.source, toChoice(p.mapping));
        if (r.rows.length === 0) throw new Error(`${p.source}: no valid rows (${r.errors.length} errors; first: line ${r.errors[0]?.line}: ${r.errors[0]?.message})`);
        const id = randomUUID();
        // The user's file is never modified: a normalised copy is what runs read.
        const path = join(this.o.userData, "datasets", `${id}.jsonl`);
        writeFileSync(path, r.rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
        const entry: DatasetEntry = { id, name: p.name, source: p.source, path, preset: r.preset, rows: r.rows.length, builtin: false, addedAt: new Date().toISOString() };
        this.db.data.datasets.push(entry);
        await this.db.write();
        return { ...entry, errors: r.errors.length };
      }
      case "runs.list":
        return this.listRuns();
      case "runs.start": {
        const p = parseParams("runs.start", raw);
        const config = { ...p.config } as RftConfigInput & { model?: string; dataset?: string };
        config.model = this.db.data.models.find((m) => m.id === config.model)?.path ?? config.model ?? this.db.data.models.find((m) => m.builtin)?.path;
        config.dataset = this.db.data.datasets.find((d) => d.id === config.dataset)?.path ?? config.dataset ?? this.db.data.datasets.find((d) => d.builtin)?.path;
        // Training on the built-in set: its held-out split becomes the run's held-out measure.
        const builtinTest = this.db.data.datasets.find((d) => d.builtin && d.path.endsWith(TEST_FILE))?.path;
        if (config.dataset?.endsWith(TRAIN_FILE) && builtinTest && !("evalDataset" in config)) (config as { evalDataset?: string }).evalDataset = builtinTest;
        const run = await RftRun.create(join(this.o.userData, "runs"), config as RftConfigInput, (e) => this.emit(e));
        this.db.data.runs.push({ id: run.id, dir: run.store.dir });
        await this.db.write();
        this.start(run);
        return { runId: run.id };
      }
      case "runs.pause": {
        const { runId } = parseParams("runs.pause", raw);
        this.liveRun(runId).run.pause();
        return { ok: true };
      }
      case "runs.stop": {
        const { runId } = parseParams("runs.stop", raw);
        this.liveRun(runId).run.stop();
        return { ok: true };
      }
      case "runs.resume": {
        const { runId } = parseParams("runs.resume", raw);
        const live = this.live.get(runId);
        if (live?.running) throw new Error(`run ${runId} is already running`);
        const run = live?.run ?? (await RftRun.resume(this.runDir(runId), (e) => this.emit(e)));
        this.start(run);
        return { ok: true };
      }
      case "runs.patch": {
        const p = parseParams("runs.patch", raw);
        this.liveRun(p.runId).run.patch(p.patch as RftPatch);
        return { ok: true };
      }
      case "runs.metrics": {
        const { runId } = parseParams("runs.metrics", raw);
        const store = await RunStore.open(this.runDir(runId));
        const rows = existsSync(store.run.data.config.dataset) ? readTaskRows(store.run.data.config.dataset) : [];
        return {
          run: store.run.data as unknown as Record<string, unknown>,
          metrics: store.readMetrics(),
          prompts: rows.map((r) => ({ id: r.id, prompt: r.prompt, family: r.family ?? null, difficulty: r.difficulty ?? null })),
        };
      }
      case "runs.export": {
        const p = parseParams("runs.export", raw);
        return { path: await exportRun(this.runDir(p.runId), p.format) };
      }
    }
  }

  private start(run: RftRun): void {
    const entry = { run, running: null as Promise<unknown> | null };
    this.live.set(run.id, entry);
    entry.running = run.run().catch(() => undefined).finally(() => {
      entry.running = null;
    });
  }

  private liveRun(runId: string): { run: RftRun; running: Promise<unknown> | null } {
    const live = this.live.get(runId);
    if (!live) throw new Error(`run ${runId} is not active in this session (resume it first)`);
    return live;
  }

  private runDir(runId: string): string {
    const entry = this.db.data.runs.find((r) => r.id === runId);
    if (!entry) throw new Error(`unknown run ${runId}`);
    return entry.dir;
  }

  private async listRuns(): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (const r of this.db.data.runs) {
      if (!existsSync(join(r.dir, "run.json"))) continue;
      const store = await RunStore.open(r.dir);
      out.push({ ...store.run.data, live: this.live.get(r.id)?.running ? true : false });
    }
    return out.reverse();
  }

  private saveUpload(folder: string, name: string, base64: string): string {
    const safe = basename(name).replace(/[^A-Za-z0-9._-]/g, "_");
    const path = join(this.o.userData, folder, `${Date.now()}-${safe}`);
    writeFileSync(path, Buffer.from(base64, "base64"));
    return path;
  }

  /** Pause every live run (checkpoints written) and release resources. */
  async close(): Promise<void> {
    for (const { run } of this.live.values()) run.pause();
    await Promise.all([...this.live.values()].map((l) => l.running));
    await Promise.all([...this.live.values()].map((l) => l.run.dispose()));
    this.live.clear();
  }
}

function safeInfo(path: string): ModelInfo | { error: string } {
  try {
    return readModelInfo(path);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The protocol's mapping choice as the importer takes it; a custom mapping is validated here. */
function toChoice(m: unknown): MappingChoice {
  if (m === "detect" || m === undefined) return "detect";
  const o = m as { preset?: string; mapping?: unknown };
  if (o.preset) return { preset: o.preset };
  const parsed = FieldMappingSchema.safeParse(o.mapping);
  if (!parsed.success) throw new Error(`invalid field mapping: ${parsed.error.issues.map((i) => `${i.path.join(".") || "mapping"}: ${i.message}`).join("; ")}`);
  return { mapping: parsed.data };
}

