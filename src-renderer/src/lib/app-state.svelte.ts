// Application state: one class, fed by engine responses and events through one subscriber.
import type { EngineEvent } from "../../../src-main/protocol/protocol";
import type { Api } from "./api";
import { HeatmapGrid } from "./heatmap-grid";
import type { DatasetRow, ModelRow, PromptInfo, RunRecord, StepMetrics } from "./types";

const RECONNECT_MS = 2000;

export type Section = "models" | "datasets" | "new-run" | "run" | "runs";

/** The run on screen: its record, metrics and heatmap grid. */
export class LiveRun {
  run = $state.raw<RunRecord | null>(null);
  metrics = $state.raw<StepMetrics[]>([]);
  prompts = $state.raw<PromptInfo[]>([]);
  status = $state("");
  /** Bumped when the grid changes (the grid itself is not reactive: it is large). */
  version = $state(0);
  grid: HeatmapGrid = new HeatmapGrid([]);

  constructor(readonly runId: string) {}

  /** Load history from the engine. */
  async load(api: Api): Promise<void> {
    const r = await api.call("runs.metrics", { runId: this.runId });
    this.run = r.run as unknown as RunRecord;
    this.status = this.run.status;
    this.prompts = r.prompts;
    this.grid = new HeatmapGrid(r.prompts);
    const metrics = r.metrics as unknown as StepMetrics[];
    for (const m of metrics) this.grid.addStep(m.step, m.cells);
    this.metrics = metrics;
    this.version++;
  }

  /** One streamed step. */
  addStep(m: StepMetrics): void {
    this.grid.addStep(m.step, m.cells);
    this.metrics = [...this.metrics, m];
    this.version++;
  }
}

/** Everything the screens show. */
export class AppState {
  api = $state.raw<Api | null>(null);
  section = $state<Section>("models");
  models = $state.raw<ModelRow[]>([]);
  datasets = $state.raw<DatasetRow[]>([]);
  runs = $state.raw<RunRecord[]>([]);
  live = $state.raw<LiveRun | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  host = $state("");

  /** False while the connection to the engine is lost: the page says so and its actions are disabled. */
  connected = $state(true);

  /** Connect and load the lists. */
  async init(connect: () => Promise<Api>): Promise<void> {
    try {
      await this.attach(await connect(), connect);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  private async attach(api: Api, connect: () => Promise<Api>): Promise<void> {
    this.api = api;
    this.host = api.host;
    api.onEvent((e) => this.onEvent(e));
    api.onClose(() => {
      this.connected = false;
      void this.reconnect(connect);
    });
    await Promise.all([this.refreshModels(), this.refreshDatasets(), this.refreshRuns()]);
  }

  /** Retry every 2 s; a server that comes back (same address and token) is picked up again. */
  private async reconnect(connect: () => Promise<Api>): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, RECONNECT_MS));
      let api: Api;
      try {
        api = await connect();
      } catch {
        continue;
      }
      this.connected = true;
      this.error = null;
      await this.attach(api, connect).catch((e: Error) => (this.error = e.message));
      if (this.live) await this.openRun(this.live.runId);
      return;
    }
  }

  private onEvent(e: EngineEvent): void {
    const live = this.live;
    if (e.type === "run.step" && live?.runId === e.runId) live.addStep(e.metrics as unknown as StepMetrics);
    if (e.type === "run.status") {
      if (live?.runId === e.runId) live.status = e.status;
      if (e.error) this.error = `Run stopped with an error: ${e.error}`;
      void this.refreshRuns();
    }
    // The change joins the history (a marker is drawn) and the config (the controls show it).
    if (e.type === "run.patch" && live?.runId === e.runId && live.run) live.run = { ...live.run, config: { ...live.run.config, ...e.patch }, history: [...live.run.history, { step: e.step, patch: e.patch }] };
  }

  /** Run an engine call, showing its error where the user looks. */
  async attempt<T>(what: string, job: () => Promise<T>): Promise<T | null> {
    this.error = null;
    try {
      return await job();
    } catch (e) {
      this.error = `${what}: ${(e as Error).message}`;
      return null;
    }
  }

  async refreshModels(): Promise<void> {
    if (this.api) this.models = (await this.api.call("models.list", {})) as unknown as ModelRow[];
  }
  async refreshDatasets(): Promise<void> {
    if (this.api) this.datasets = (await this.api.call("datasets.list", {})) as unknown as DatasetRow[];
  }
  async refreshRuns(): Promise<void> {
    if (this.api) this.runs = (await this.api.call("runs.list", {})) as unknown as RunRecord[];
  }

  /** Show a run's live view. */
  async openRun(runId: string): Promise<void> {
    if (!this.api) return;
    this.notice = null;
    const live = new LiveRun(runId);
    await this.attempt("Opening the run", () => live.load(this.api!));
    this.live = live;
    this.section = "run";
  }
}
