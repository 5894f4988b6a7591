// The engine behind every host: a registry of models, datasets and runs (lowdb app.json), the
// command handlers of the protocol, and the live runs whose events it forwards. Plain Node.
// Each live run trains in its own thread (live-run.ts), so commands are answered while it trains.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import { TEST_FILE, TRAIN_FILE, readTaskRows } from "../datasets/default-datasets.js";
import { importDataset, UnrecognisedFieldsError, type Companions, type MappingChoice } from "../datasets/import/import-dataset.js";
import { FieldMappingSchema } from "../datasets/import/field-mapping.js";
import { Keys } from "../gguf/constants.js";
import { readGguf } from "../gguf/reader.js";
import { readModelInfo, type ModelInfo } from "../model/model-info.js";
import { Commands, isCommand, parseParams, type CommandName, type CommandResult, type EngineEvent, type EvalChoice } from "../protocol/protocol.js";
import { checkRunName, defaultRunName } from "../protocol/run-names.js";
import { PRESETS, RftConfigSchema, RftPatchSchema, withPreset, type PresetName, type RftConfigInput, type RftPatch } from "../rft/rft-config.js";
import type { RftEvent } from "../rft/rft-run.js";
import { RunStore } from "../store/run-store.js";
import { splitHoldout, writeHoldoutSplit } from "./eval-split.js";
import { exportRun } from "./export-run.js";
import { Job } from "./jobs.js";
import { estimatePreflight, PREFLIGHT_FILE, preflightResult } from "./preflight.js";
import { PreflightResultSchema, type PreflightResult } from "../protocol/preflight.js";
import { NoEvalSetError, readRunComparison } from "./run-comparison.js";
import { SamplesReader } from "../rft/samples-file.js";
import type { CompareProgress, RunComparison, TryResult } from "../protocol/insight.js";
import { FileAccess, quoteFree } from "./file-access.js";
import { LiveRun } from "./live-run.js";
import { readRunMeta, writeRunMeta, type EvalChoiceRecord, type RunMeta } from "./run-meta.js";
import { RunSummaries } from "./run-summaries.js";
import type { RunWorkerData } from "./run-worker.js";
import { Uploads } from "./uploads.js";

interface ModelEntry { id: string; name: string; path: string; builtin: boolean; addedAt: string }
/** `fileName`: the file imported, as the user named it (an upload's own name, not the workbench's copy). */
interface DatasetEntry { id: string; name: string; source: string; fileName?: string; path: string; preset: string; rows: number; builtin: boolean; addedAt: string }
interface AppDoc { models: ModelEntry[]; datasets: DatasetEntry[]; runs: { id: string; dir: string }[] }

export interface EngineOptions {
  /** Where the app keeps its files (Electron's userData; ~/.metis-workbench headless). */
  userData: string;
  /** The shipped resources folder (built-in model and datasets). */
  resources: string;
  host: string;
  version: string;
  /** Compare base and adapter by itself when a run with an evaluation set finishes (default true; benchmarks that time what follows a run turn it off). */
  compareAtEnd?: boolean;
}

/** Engine state and command handling. */
export class Engine {
  private readonly live = new Map<string, LiveRun>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly uploads: Uploads;
  /** Uploaded files' own names, by the path of the workbench's copy (previews and the import name the copy). */
  private readonly uploadNames = new Map<string, string>();
  private readonly files: FileAccess;
  /**
   * Changes relayed to a run but not yet applied (no run.patch event back). A paused run's thread
   * ends, so a change made while paused, or just before the pause took effect, waits here for resume.
   */
  private readonly unapplied = new Map<string, RftPatch>();
  /** Each run's summary for the Runs table, read incrementally from its metrics file. */
  private readonly summaries = new RunSummaries();
  /** Each run's step samples (samples.jsonl), indexed as they are read. */
  private readonly samples = new SamplesReader();
  /** Base-against-adapter comparisons under way, by run, with how far each has come. */
  private readonly comparing = new Map<string, { job: Job<RunComparison>; progress: CompareProgress | null }>();
  /** Why a run's last comparison failed (until the next one starts). */
  private readonly compareErrors = new Map<string, string>();
  /** Job threads alive (comparisons and tries), ended on close. */
  private readonly jobs = new Set<Job<unknown>>();
  private closing = false;
  /** Run starts, one at a time (a failed start finds and deletes the directory it made). */
  private starting: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly o: EngineOptions,
    private readonly db: Low<AppDoc>,
  ) {
    this.uploads = new Uploads(join(o.userData, "uploads"));
    this.files = new FileAccess(o.userData);
  }

  /** Open (or create) the app's files and register the built-in model and datasets. */
  static async open(o: EngineOptions): Promise<Engine> {
    for (const d of ["models", "datasets", "uploads", "runs", "splits"]) mkdirSync(join(o.userData, d), { recursive: true });
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

  /** Record that the user chose the file at `path` (a native dialog or a drop); hosts call this, never the renderer. */
  grant(path: string): void {
    this.files.grant(path);
  }

  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: RftEvent): void {
    if (e.type === "patch") this.unapplied.delete(e.runId);
    const event: EngineEvent =
      e.type === "step" ? { type: "run.step", runId: e.runId, metrics: e.metrics as unknown as Record<string, unknown> }
      : e.type === "status" ? { type: "run.status", runId: e.runId, status: e.status, step: e.step, ...(e.error ? { error: e.error } : {}) }
      : e.type === "checkpoint" ? { type: "run.checkpoint", runId: e.runId, step: e.step, dir: e.dir }
      : { type: "run.patch", runId: e.runId, step: e.step, patch: e.patch as Record<string, unknown> };
    this.broadcast(event);
  }

  private broadcast(event: EngineEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** Handle one command from a host: validates the name and parameters, returns the result. */
  async handle(command: string, rawParams: unknown): Promise<unknown> {
    if (!isCommand(command)) throw new Error(`unknown command "${command}"`);
    parseParams(command, rawParams); // every command, those without parameters too: unknown keys are refused
    const result = await this.dispatch(command, rawParams);
    return Commands[command].result.parse(result);
  }

  private async dispatch(command: CommandName, raw: unknown): Promise<unknown> {
    switch (command) {
      case "app.info":
        return { version: this.o.version, host: this.o.host, userData: this.o.userData } satisfies CommandResult<"app.info">;
      case "models.list":
        return this.db.data.models.map((m) => ({ ...m, size: fileSize(m.path), info: safeInfo(m.path) }));
      case "models.add": {
        const p = parseParams("models.add", raw);
        const upload = p.upload ? this.uploads.take(p.upload) : null;
        let path = upload ? upload.path : this.files.check(p.path!);
        const name = p.name ?? upload?.name ?? basename(path);
        let info: ModelInfo;
        try {
          info = readModelInfo(path); // validates the file
          const adapter = adapterReason(path);
          if (adapter) throw new Error(`${path} is a LoRA adapter (${adapter}), not a model: it cannot be trained or run on its own. Add the base model it was made for; adapters trained here are exported from Runs.`);
        } catch (e) {
          if (upload) rmSync(path, { force: true }); // a rejected upload does not stay on disk
          throw new Error(quoteFree((e as Error).message, path).replaceAll(path, upload ? upload.name : path), { cause: e });
        }
        if (upload) {
          const kept = join(this.o.userData, "models", basename(path));
          renameSync(path, kept);
          path = kept;
        }
        const entry: ModelEntry = { id: randomUUID(), name, path, builtin: false, addedAt: new Date().toISOString() };
        this.db.data.models.push(entry);
        await this.db.write();
        return { ...entry, info };
      }
      case "models.delete": {
        const { id } = parseParams("models.delete", raw);
        return this.deleteEntry("model", id, this.db.data.models, join(this.o.userData, "models"));
      }
      case "datasets.list":
        return this.db.data.datasets;
      case "datasets.delete": {
        const { id } = parseParams("datasets.delete", raw);
        const entry = this.db.data.datasets.find((d) => d.id === id);
        const result = await this.deleteEntry("dataset", id, this.db.data.datasets, join(this.o.userData, "datasets"));
        // A browser's upload of the original is the workbench's copy too (a file chosen in place is not).
        if (entry && inside(entry.source, join(this.o.userData, "uploads")) && !this.db.data.datasets.some((d) => d.source === entry.source)) rmSync(entry.source, { force: true });
        return result;
      }
      case "datasets.preview": {
        const p = parseParams("datasets.preview", raw);
        const choice = toChoice(p.mapping);
        const upload = p.upload ? this.uploads.take(p.upload) : null;
        const answersUpload = p.answers?.upload ? this.uploads.take(p.answers.upload) : null;
        // Later previews of an upload (another mapping) name it by this source path, under user-data.
        const source = upload ? upload.path : this.files.check(p.path!);
        if (upload) this.uploadNames.set(upload.path, upload.name);
        const answers = answersUpload ? answersUpload.path : p.answers?.path ? this.files.check(p.answers.path) : null;
        const names = new Map([[source, upload?.name ?? source], ...(answers ? [[answers, answersUpload?.name ?? answers] as const] : [])]);
        const forget = (): void => {
          for (const u of [upload, answersUpload]) if (u) rmSync(u.path, { force: true });
        };
        let r: Awaited<ReturnType<typeof importDataset>>;
        try {
          r = await importDataset(source, choice, answers ? { answers } : {});
        } catch (e) {
          // No preset matched: the preview still opens, with the fields a mapping can name.
          if (e instanceof UnrecognisedFieldsError) return { source, answers, preset: "none", records: e.records, fields: e.fields, rows: [], errors: [] };
          forget();
          let message = quoteFree((e as Error).message, source);
          for (const [path, name] of names) message = message.replaceAll(path, name);
          throw new Error(message, { cause: e });
        }
        return { source, answers, preset: r.preset, records: r.records, fields: [], rows: r.rows.slice(0, PREVIEW_ROWS) as unknown as Record<string, unknown>[], errors: r.errors.slice(0, 200) };
      }
      case "datasets.import": {
        const p = parseParams("datasets.import", raw);
        const choice = toChoice(p.mapping);
        const source = this.files.check(p.source);
        const companions: Companions = p.answers ? { answers: this.files.check(p.answers) } : {};
        let r: Awaited<ReturnType<typeof importDataset>>;
        try {
          r = await importDataset(source, choice, companions);
        } catch (e) {
          throw new Error(quoteFree((e as Error).message, source), { cause: e });
        }
        if (r.rows.length === 0) throw new Error(quoteFree(`${source}: no valid rows (${r.errors.length} errors; first: line ${r.errors[0]?.line}: ${r.errors[0]?.message})`, source));
        const id = randomUUID();
        // The user's file is never modified: a normalised copy is what runs read.
        const path = join(this.o.userData, "datasets", `${id}.jsonl`);
        writeFileSync(path, r.rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
        // An upload's copy is "<upload id>-<name made safe>": its own name, when this engine saw it, reads better.
        const fileName = this.uploadNames.get(source) ?? basename(source).replace(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-/, "");
        const entry: DatasetEntry = { id, name: p.name, source, fileName, path, preset: r.preset, rows: r.rows.length, builtin: false, addedAt: new Date().toISOString() };
        this.db.data.datasets.push(entry);
        await this.db.write();
        return { ...entry, errors: r.errors.length };
      }
      case "uploads.begin": {
        const p = parseParams("uploads.begin", raw);
        return this.uploads.begin(p.name, p.size);
      }
      case "uploads.chunk": {
        const p = parseParams("uploads.chunk", raw);
        return this.uploads.chunk(p.uploadId, p.offset, p.contentBase64);
      }
      case "uploads.finish": {
        const p = parseParams("uploads.finish", raw);
        return this.uploads.finish(p.uploadId);
      }
      case "uploads.cancel": {
        const p = parseParams("uploads.cancel", raw);
        await this.uploads.cancel(p.uploadId);
        return { ok: true };
      }
      case "runs.list":
        return this.listRuns();
      case "runs.start":
        return this.start(parseParams("runs.start", raw));
      case "runs.preflight": {
        const p = parseParams("runs.preflight", raw);
        const config: Record<string, unknown> = { ...withPreset(p.preset ?? "workbench", p.config as RftConfigInput) };
        config.model = this.entryFor("model", config.model, this.db.data.models).path;
        config.dataset = this.entryFor("dataset", config.dataset, this.db.data.datasets).path;
        const parsed = RftConfigSchema.strict().safeParse(config);
        if (!parsed.success) throw new Error(`runs.preflight: invalid run configuration: ${parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ")}`);
        // The estimate reads the model's header only; the baseline sample loads the model, in a job thread.
        if (!p.baseline) return estimatePreflight(parsed.data);
        return await this.track(new Job<PreflightResult>({ kind: "preflight", config: parsed.data })).result;
      }
      case "runs.presets":
        return { presets: presetValues() };
      case "runs.rename": {
        const p = parseParams("runs.rename", raw);
        const dir = this.runDir(p.runId);
        const name = checkRunName(p.name);
        const meta = readRunMeta(dir) ?? (await this.metaOfUnnamedRun(dir));
        writeRunMeta(dir, { ...meta, name });
        return { ok: true, name };
      }
      case "runs.delete": {
        const { runId } = parseParams("runs.delete", raw);
        const dir = this.runDir(runId);
        const live = this.live.get(runId);
        if (live?.running) throw new Error(`run ${runId} is running: pause or stop it (and let it end) before deleting it`);
        await live?.done; // a paused run's thread finishes exiting before its files go
        await this.comparing.get(runId)?.job.close(); // so does a comparison measuring it
        const meta = readRunMeta(dir);
        // Only what the workbench made: the run's folder under runs/, its split under splits/.
        if (inside(dir, join(this.o.userData, "runs"))) rmSync(dir, { recursive: true, force: true });
        if (meta?.splitDir && inside(meta.splitDir, join(this.o.userData, "splits"))) rmSync(meta.splitDir, { recursive: true, force: true });
        this.db.data.runs = this.db.data.runs.filter((r) => r.id !== runId);
        this.unapplied.delete(runId);
        this.summaries.forget(dir);
        this.samples.forget(dir);
        await this.db.write();
        return { ok: true };
      }
      case "runs.pause": {
        const { runId } = parseParams("runs.pause", raw);
        this.liveRun(runId).pause();
        return { ok: true };
      }
      case "runs.stop": {
        const { runId } = parseParams("runs.stop", raw);
        const live = this.live.get(runId);
        if (live?.running) {
          live.stop();
          return { ok: true };
        }
        // A paused run has no thread (its checkpoint was written when it paused): stopping it marks it stopped.
        await live?.done;
        const store = await RunStore.open(this.runDir(runId));
        if (store.run.data.status !== "paused") throw new Error(`run ${runId} is ${store.run.data.status}, not running or paused: there is nothing to stop`);
        store.run.data.status = "stopped";
        await store.run.write();
        this.emit({ type: "status", runId, status: "stopped", step: store.run.data.step });
        return { ok: true };
      }
      case "runs.resume": {
        const { runId } = parseParams("runs.resume", raw);
        const live = this.live.get(runId);
        if (live?.running) throw new Error(`run ${runId} is already running`);
        await live?.done; // a paused run's thread finishes exiting before a new one opens the run
        const patch = this.unapplied.get(runId);
        await this.startRun({ kind: "resume", runDir: this.runDir(runId), ...(patch ? { patch } : {}) });
        return { ok: true };
      }
      case "runs.patch": {
        const p = parseParams("runs.patch", raw);
        this.runDir(p.runId); // a known run, live or paused
        const patch = RftPatchSchema.safeParse(p.patch);
        if (!patch.success) throw new Error(`invalid change: ${patch.error.issues.map((i) => `${i.path.join(".") || "patch"}: ${i.message}`).join("; ")}`);
        const live = this.live.get(p.runId);
        if (!live?.running) {
          // A finished run never trains again unless its steps are raised (then resume extends it): any other change would wait forever.
          const run = (await RunStore.open(this.runDir(p.runId))).run.data;
          const extends_ = patch.data.steps !== undefined && patch.data.steps > run.step;
          if (run.status === "finished" && !extends_) throw new Error(`run ${p.runId} is finished (step ${run.step} of ${run.config.steps}): a change would never apply; to train on, raise "steps" above ${run.step} and resume it`);
        }
        this.unapplied.set(p.runId, { ...this.unapplied.get(p.runId), ...patch.data });
        if (live?.running) live.patch(patch.data);
        return { ok: true };
      }
      case "runs.metrics": {
        const { runId } = parseParams("runs.metrics", raw);
        const store = await RunStore.open(this.runDir(runId));
        const rows = existsSync(store.run.data.config.dataset) ? readTaskRows(store.run.data.config.dataset) : [];
        return {
          run: { ...(store.run.data as unknown as Record<string, unknown>), ...this.describe(store.dir, store.run.data as unknown as Record<string, unknown>) },
          metrics: store.readMetrics(),
          prompts: rows.map((r) => ({ id: r.id, prompt: r.prompt, family: r.family ?? null, difficulty: r.difficulty ?? null })),
        };
      }
      case "runs.samples": {
        const p = parseParams("runs.samples", raw);
        const record = this.samples.read(this.runDir(p.runId), p.step);
        const prompts = record?.prompts.filter((x) => p.promptId === undefined || x.id === p.promptId) ?? [];
        return { step: p.step, recorded: record !== null, prompts } satisfies CommandResult<"runs.samples">;
      }
      case "runs.compare": {
        const { runId } = parseParams("runs.compare", raw);
        return { started: this.compare(runId) };
      }
      case "runs.comparison": {
        const { runId } = parseParams("runs.comparison", raw);
        const under = this.comparing.get(runId);
        return {
          comparison: readRunComparison(this.runDir(runId)),
          running: under ? (under.progress ?? { phase: "adapter", done: 0, total: 0 }) : null,
          error: this.compareErrors.get(runId) ?? null,
        } satisfies CommandResult<"runs.comparison">;
      }
      case "runs.try": {
        const p = parseParams("runs.try", raw);
        const job = this.track(new Job<TryResult>({ kind: "try", runDir: this.runDir(p.runId), prompt: p.prompt, ...(p.seed !== undefined ? { seed: p.seed } : {}) }));
        return await job.result;
      }
      case "runs.export": {
        const p = parseParams("runs.export", raw);
        return { path: await exportRun(this.runDir(p.runId), p.format) };
      }
    }
  }

  /** runs.start: resolve the model, dataset, preset and evaluation set, start the thread, record the workbench's facts about the run. */
  private async start(p: { config: Record<string, unknown>; name?: string | undefined; preset?: PresetName | undefined; eval?: EvalChoice | undefined; baseline?: boolean | undefined; force?: boolean | undefined }): Promise<CommandResult<"runs.start">> {
    const preset = p.preset ?? "workbench";
    const config: Record<string, unknown> = { ...withPreset(preset, p.config as RftConfigInput) };
    const name = p.name !== undefined && p.name.trim() !== "" ? checkRunName(p.name) : null;
    const model = this.entryFor("model", config.model, this.db.data.models);
    const dataset = this.entryFor("dataset", config.dataset, this.db.data.datasets);
    config.model = model.path;
    config.dataset = dataset.path;
    let evalRecord: EvalChoiceRecord = { kind: "none" };
    let splitDir: string | null = null;
    if (p.eval && "evalDataset" in config) throw new Error("runs.start: give the evaluation set once: eval or config.evalDataset, not both");
    if (p.eval?.kind === "dataset" || (!p.eval && "evalDataset" in config)) {
      const chosen = this.entryFor("evalDataset", p.eval?.kind === "dataset" ? p.eval.id : config.evalDataset, this.db.data.datasets);
      if (chosen.path === dataset.path) throw new Error(`runs.start: the evaluation set is the training set (${dataset.name}): a model is not measured on what it trained on; choose another dataset or hold out a share of this one`);
      config.evalDataset = chosen.path;
      evalRecord = { kind: "dataset", id: chosen.id, name: chosen.name, rows: rowCount(chosen.path) };
    } else if (p.eval?.kind === "holdout") {
      // The run trains on the rest: the held-out rows are not in the file it reads.
      const split = splitHoldout(readTaskRows(dataset.path), p.eval.percent);
      splitDir = join(this.o.userData, "splits", randomUUID());
      const files = writeHoldoutSplit(split, splitDir);
      config.dataset = files.train;
      config.evalDataset = files.heldOut;
      evalRecord = { kind: "holdout", percent: p.eval.percent, rows: split.heldOut.length };
    } else if (!p.eval && dataset.path.endsWith(TRAIN_FILE)) {
      // Training on the built-in set: its held-out split becomes the run's held-out measure.
      const builtinTest = this.db.data.datasets.find((d) => d.builtin && d.path.endsWith(TEST_FILE));
      if (builtinTest) {
        config.evalDataset = builtinTest.path;
        evalRecord = { kind: "dataset", id: builtinTest.id, name: builtinTest.name, rows: builtinTest.rows };
      }
    }
    try {
      // Strict: an unknown or misspelt key is refused, not silently dropped.
      const parsed = RftConfigSchema.strict().safeParse(config);
      if (!parsed.success) throw new Error(`runs.start: invalid run configuration: ${parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ")}`);
      const run = await this.startRun({ kind: "create", runsDir: join(this.o.userData, "runs"), config: parsed.data, preflight: { baseline: p.baseline !== false, force: p.force === true } });
      writeRunMeta(run.dir, {
        name: name ?? defaultRunName(parsed.data.scheduler, model.name, new Date()),
        model: { id: model.id, name: model.name },
        dataset: { id: dataset.id, name: dataset.name },
        eval: evalRecord,
        preset,
        scheduler: parsed.data.scheduler,
        splitDir,
      });
      this.db.data.runs.push({ id: run.id, dir: run.dir });
      await this.db.write();
      return { runId: run.id, ...readPreflight(run.dir) };
    } catch (e) {
      if (splitDir) rmSync(splitDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A registry entry named by id or path, or a file the user chose (no id); the built-in when absent. */
  private entryFor(key: string, value: unknown, entries: readonly { id: string; name: string; path: string; builtin: boolean }[]): { id: string | null; name: string; path: string } {
    const path = this.registered(key, value, entries);
    if (path === undefined) throw new Error(`runs.start: config.${key}: none given and no built-in ${key} is installed`);
    const entry = entries.find((e) => e.path === path);
    return entry ? { id: entry.id, name: entry.name, path } : { id: null, name: basename(path), path };
  }

  /** What the Runs table and the run screen show about a run beyond run.json: name, model, dataset, evaluation set, progress summary. */
  private describe(dir: string, record: Record<string, unknown>): Record<string, unknown> {
    const meta = readRunMeta(dir);
    const config = (record.config ?? {}) as Record<string, unknown>;
    const { stepMs: _perStep, ...summary } = this.summaries.get(dir);
    const evalPath = typeof config.evalDataset === "string" ? config.evalDataset : null;
    return {
      name: meta?.name ?? String(record.id),
      modelName: meta?.model.name ?? basename(String(config.model ?? "")),
      datasetName: meta?.dataset.name ?? basename(String(config.dataset ?? "")),
      eval: meta?.eval ?? (evalPath ? { kind: "dataset", id: null, name: basename(evalPath), rows: null } : { kind: "none" }),
      preset: meta?.preset ?? null,
      firstScheduler: meta?.scheduler ?? summary.firstScheduler ?? config.scheduler ?? null,
      summary,
    };
  }

  /** A workbench.json for a run that has none (made before names existed): the facts run.json gives. */
  private async metaOfUnnamedRun(dir: string): Promise<RunMeta> {
    const record = JSON.parse(await readFile(join(dir, "run.json"), "utf8")) as { id: string; config: Record<string, unknown> };
    const d = this.describe(dir, record);
    const c = record.config;
    const byPath = <T extends { id: string; path: string }>(list: T[], path: unknown): string | null => list.find((e) => e.path === path)?.id ?? null;
    return {
      name: String(d.name),
      model: { id: byPath(this.db.data.models, c.model), name: String(d.modelName) },
      dataset: { id: byPath(this.db.data.datasets, c.dataset), name: String(d.datasetName) },
      eval: typeof c.evalDataset === "string" ? { kind: "dataset", id: byPath(this.db.data.datasets, c.evalDataset), name: basename(c.evalDataset), rows: existsSync(c.evalDataset) ? rowCount(c.evalDataset) : 0 } : { kind: "none" },
      preset: "workbench",
      scheduler: String(d.firstScheduler ?? c.scheduler ?? "metis"),
      splitDir: null,
    };
  }

  /** Delete a model or dataset entry; its file only when it is the workbench's own copy under `ownDir`. Refused for built-ins and while a run trains on it. */
  private async deleteEntry(kind: "model" | "dataset", id: string, entries: { id: string; name: string; path: string; builtin: boolean }[], ownDir: string): Promise<CommandResult<"models.delete">> {
    const entry = entries.find((e) => e.id === id);
    if (!entry) throw new Error(`unknown ${kind} ${id}`);
    if (entry.builtin) throw new Error(`${entry.name} is built in: it cannot be deleted`);
    const users = await this.runningRunsUsing(entry);
    if (users.length > 0) throw new Error(`${entry.name} is in use by a running run (${users.join(", ")}): stop it first`);
    const index = entries.indexOf(entry);
    entries.splice(index, 1);
    const shared = entries.some((e) => e.path === entry.path);
    const own = inside(entry.path, ownDir) && !shared;
    if (own) rmSync(entry.path, { force: true });
    await this.db.write();
    return { ok: true, removedFile: own ? entry.path : null };
  }

  /** Names of the running runs that read `entry` (as model, dataset, evaluation set, or the dataset a held-out split came from). */
  private async runningRunsUsing(entry: { id: string; path: string }): Promise<string[]> {
    const out: string[] = [];
    for (const [id, live] of this.live) {
      if (!live.running) continue;
      const record = await readFile(join(live.dir, "run.json"), "utf8").then((t) => JSON.parse(t) as { config: Record<string, unknown> }).catch(() => null);
      const meta = readRunMeta(live.dir);
      const c = record?.config ?? {};
      if ([c.model, c.dataset, c.evalDataset].includes(entry.path) || meta?.dataset.id === entry.id || meta?.model.id === entry.id) out.push(meta?.name ?? id);
    }
    return out;
  }

  /** Start a run thread (one start at a time); once it ends, its thread and resources are gone and it leaves the live set. */
  private startRun(data: RunWorkerData): Promise<LiveRun> {
    const started = this.starting.then(() => LiveRun.start(data, (e) => this.emit(e)));
    this.starting = started.catch(() => undefined);
    return started.then((run) => {
      this.live.set(run.id, run);
      void run.done.then((final) => {
        if (this.live.get(run.id) === run) this.live.delete(run.id);
        if (final.status === "finished" && this.o.compareAtEnd !== false) this.compareFinished(run.id, run.dir);
      });
      return run;
    });
  }

  /** The path a run config names: a registered id, else a registered path or a file the user chose; the built-in when absent. */
  private registered(key: string, value: unknown, entries: readonly { id: string; path: string; builtin: boolean }[]): string | undefined {
    if (value === undefined) return key === "evalDataset" ? undefined : entries.find((e) => e.builtin)?.path;
    if (typeof value !== "string" || value === "") throw new Error(`runs.start: config.${key}: expected an id or a path, found ${typeof value}`);
    const entry = entries.find((e) => e.id === value || e.path === value);
    return entry ? entry.path : this.files.check(value);
  }

  private liveRun(runId: string): LiveRun {
    const live = this.live.get(runId);
    if (!live?.running) throw new Error(`run ${runId} is not active in this session (resume it first)`);
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
      // run.json alone (RunStore.open also replays the curriculum history).
      const record = await readFile(join(r.dir, "run.json"), "utf8").then((t) => JSON.parse(t) as Record<string, unknown>).catch(() => null);
      if (record) out.push({ ...record, ...this.describe(r.dir, record), live: this.live.get(r.id)?.running === true });
    }
    return out.reverse();
  }

  /** Start measuring the base model against the run's newest adapter in a job thread; false when one is already under way. */
  private compare(runId: string): boolean {
    const dir = this.runDir(runId);
    if (this.comparing.has(runId) || this.closing) return false;
    const record = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as { config: { evalDataset?: string } };
    if (!record.config.evalDataset) throw new NoEvalSetError(dir);
    const entry: { job: Job<RunComparison>; progress: CompareProgress | null } = {
      job: this.track(new Job<RunComparison>({ kind: "compare", runDir: dir }, (progress) => {
        entry.progress = progress;
        this.broadcast({ type: "run.compare", runId, state: "running", progress });
      })),
      progress: null,
    };
    this.comparing.set(runId, entry);
    this.compareErrors.delete(runId);
    this.broadcast({ type: "run.compare", runId, state: "running", progress: null });
    entry.job.result.then(
      () => {
        this.comparing.delete(runId);
        this.broadcast({ type: "run.compare", runId, state: "done", progress: null });
      },
      (e: Error) => {
        this.comparing.delete(runId);
        if (this.closing) return;
        this.compareErrors.set(runId, e.message);
        this.broadcast({ type: "run.compare", runId, state: "failed", progress: null, error: e.message });
      },
    );
    return true;
  }

  /** At the end of a run with an evaluation set: compare, unless its final adapter was already measured (a finished run resumed). */
  private compareFinished(runId: string, dir: string): void {
    try {
      const record = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as { step: number; config: { evalDataset?: string } };
      if (!record.config.evalDataset || (readRunComparison(dir)?.step ?? -1) >= record.step) return;
      this.compare(runId);
    } catch (e) {
      this.compareErrors.set(runId, (e as Error).message);
    }
  }

  /** Keep a job thread on the list closed with the engine. */
  private track<T>(job: Job<T>): Job<T> {
    this.jobs.add(job as Job<unknown>);
    void job.result.finally(() => this.jobs.delete(job as Job<unknown>)).catch(() => undefined);
    return job;
  }

  /** The runs whose threads are alive (tests and the soak benchmark check that ended runs leave). */
  liveRunIds(): string[] {
    return [...this.live.keys()];
  }

  /** Pause every live run (checkpoints written), wait for their threads to end, and delete unfinished uploads. */
  async close(): Promise<void> {
    this.closing = true;
    await this.starting;
    await Promise.all([...this.live.values()].map((l) => l.close()));
    this.live.clear();
    await Promise.all([...this.jobs].map((j) => j.close()));
    await this.uploads.close();
  }
}

/** Rows a dataset preview shows. */
const PREVIEW_ROWS = 20;

/** Whether `path` is `dir` or inside it. */
function inside(path: string, dir: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

function rowCount(path: string): number {
  try {
    return readTaskRows(path).length;
  } catch {
    return 0;
  }
}

/** For each preset, the resolved value of every field some preset sets (the workbench's are the schema defaults). */
function presetValues(): Record<string, Record<string, unknown>> {
  const keys = [...new Set(Object.values(PRESETS).flatMap((p) => Object.keys(p)))];
  return Object.fromEntries(
    (Object.keys(PRESETS) as PresetName[]).map((name) => {
      const resolved = RftConfigSchema.parse(withPreset(name, { model: "-", dataset: "-" })) as Record<string, unknown>;
      return [name, Object.fromEntries(keys.map((k) => [k, resolved[k]]))];
    }),
  );
}

function safeInfo(path: string): ModelInfo | { error: string } {
  try {
    const adapter = adapterReason(path);
    // Registered before adapters were refused: listed, but not as something to train.
    if (adapter) return { error: `a LoRA adapter (${adapter}), not a model` };
    return readModelInfo(path);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Why the GGUF at `path` is a LoRA adapter rather than a model (general.type or an adapter.type key), or null. */
function adapterReason(path: string): string | null {
  const file = readGguf(path);
  const type = file.metadata.get(Keys.general.type)?.value;
  // No quotes: error messages are passed through quoteFree, which elides quoted text.
  if (type === "adapter") return "general.type is adapter";
  if (file.metadata.has(Keys.adapter.type)) return `adapter.type is ${String(file.metadata.get(Keys.adapter.type)?.value)}`;
  return null;
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

/** The pre-flight report a run's thread wrote before its first step, in the protocol's form (absent when unreadable). */
function readPreflight(dir: string): { preflight?: PreflightResult } {
  try {
    const r = JSON.parse(readFileSync(join(dir, PREFLIGHT_FILE), "utf8")) as Parameters<typeof preflightResult>[0];
    return { preflight: PreflightResultSchema.parse(preflightResult(r)) };
  } catch {
    return {};
  }
}
