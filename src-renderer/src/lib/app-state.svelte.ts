// Application state: one class, fed by engine responses and events through one subscriber.
import type { EngineEvent } from "../../../src-main/protocol/protocol";
import type { ComparisonState } from "../../../src-main/protocol/insight";
import { addStep } from "../../../src-main/protocol/run-progress";
import type { Api } from "./api";
import { HeatmapGrid } from "./heatmap-grid";
import { mergeLoaded, type StreamedDuringLoad } from "./load-merge";
import { formatRoute, parseRoute, type Route, type Section } from "./router";
import type { DatasetRow, ModelRow, PromptInfo, RunRecord, StepMetrics } from "./types";

const RECONNECT_MS = 2000;

export type { Section } from "./router";

/** The run on screen: its record, metrics and heatmap grid. */
export class LiveRun {
  run = $state.raw<RunRecord | null>(null);
  metrics = $state.raw<StepMetrics[]>([]);
  prompts = $state.raw<PromptInfo[]>([]);
  status = $state("");
  /** A pause or stop asked for and not yet confirmed by the engine (a step can take seconds). */
  pending = $state<"pausing" | "stopping" | null>(null);
  /** When the latest step arrived (or the view opened), for the time the step under way has taken. */
  lastStepAt = $state(Date.now());
  /** Bumped when the grid changes (the grid itself is not reactive: it is large). */
  version = $state(0);
  grid: HeatmapGrid = new HeatmapGrid([]);
  /** Base against adapter on the evaluation set: stored, under way, or failed (null until loaded). */
  comparison = $state.raw<ComparisonState | null>(null);
  /** Events that arrive while load() reads the history; null once loaded. */
  private streamed: StreamedDuringLoad<StepMetrics> | null = { status: null, steps: [] };

  constructor(readonly runId: string) {}

  /** A status event: confirms any pause or stop asked for (kept aside while the history loads). */
  setStatus(status: string): void {
    if (this.streamed) this.streamed.status = status;
    else this.status = status;
    this.pending = null;
  }

  /** Read the stored comparison and whether one is under way. */
  async loadComparison(api: Api): Promise<void> {
    this.comparison = await api.call("runs.comparison", { runId: this.runId });
  }

  /** A run.compare event: progress shown at once; at the end, the stored result is read. */
  onCompare(e: Extract<EngineEvent, { type: "run.compare" }>, api: Api): void {
    if (e.state === "running") this.comparison = { comparison: this.comparison?.comparison ?? null, running: e.progress ?? { phase: "adapter", done: 0, total: 0 }, error: null };
    else void this.loadComparison(api);
  }

  /** Load history from the engine. */
  async load(api: Api): Promise<void> {
    const r = await api.call("runs.metrics", { runId: this.runId });
    this.run = r.run as unknown as RunRecord;
    const merged = mergeLoaded({ status: this.run.status, metrics: r.metrics as unknown as StepMetrics[] }, this.streamed ?? { status: null, steps: [] });
    this.streamed = null;
    this.status = merged.status;
    this.prompts = r.prompts;
    this.grid = new HeatmapGrid(r.prompts);
    const metrics = merged.metrics;
    for (const m of metrics) this.grid.addStep(m.step, m.cells);
    this.metrics = metrics;
    this.lastStepAt = Date.now();
    this.version++;
    await this.loadComparison(api);
  }

  /** One streamed step (kept aside while the history loads). */
  addStep(m: StepMetrics): void {
    if (this.streamed) {
      this.streamed.steps.push(m);
      return;
    }
    this.grid.addStep(m.step, m.cells);
    this.metrics = [...this.metrics, m];
    this.lastStepAt = Date.now();
    this.version++;
  }
}

/** A question the app asks before an action that cannot be undone. */
export interface Confirmation {
  title: string;
  body: string;
  /** The confirm button's text ("Delete", "Stop run"). */
  confirm: string;
  danger: boolean;
}

/** Everything the screens show. */
export class AppState {
  /** The question on screen, if any, and who waits for its answer. */
  confirmation = $state.raw<(Confirmation & { answer: (yes: boolean) => void }) | null>(null);
  api = $state.raw<Api | null>(null);
  /** The screen and run on show; the URL's hash follows it (see router.ts). */
  route = $state<Route>({ section: "models", runId: null });
  readonly section: Section = $derived(this.route.section);
  models = $state.raw<ModelRow[]>([]);
  datasets = $state.raw<DatasetRow[]>([]);
  runs = $state.raw<RunRecord[]>([]);
  /** Each preset's values for the fields presets set (New run shows them). */
  presets = $state.raw<Record<string, Record<string, unknown>>>({});
  live = $state.raw<LiveRun | null>(null);
  /** A run whose history is being read: it receives events too, so none is lost before it shows. */
  private loading: LiveRun | null = null;
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
    await Promise.all([this.refreshModels(), this.refreshDatasets(), this.refreshRuns(), api.call("runs.presets", {}).then((r) => (this.presets = r.presets))]);
    // A reload on a run's URL opens that run.
    if (this.route.section === "run" && this.route.runId && this.live?.runId !== this.route.runId) await this.loadRun(this.route.runId);
  }

  /** Follow the page's hash: now, and at every change (links, back, forward). Returns the unsubscribe function. */
  startRouting(w: Window): () => void {
    const follow = (): void => this.applyRoute(parseRoute(w.location.hash));
    follow();
    this.navigate = (r) => {
      const hash = formatRoute(r);
      if (w.location.hash === hash) this.applyRoute(r);
      else w.location.hash = hash; // hashchange applies it, and the history gains an entry
    };
    w.addEventListener("hashchange", follow);
    return () => w.removeEventListener("hashchange", follow);
  }

  /** Go to a screen (and run); without routing (tests), the route changes in place. */
  private navigate: (r: Route) => void = (r) => this.applyRoute(r);

  /** Show a screen; for the run screen, `runId` or the run last opened. */
  go(section: Section, runId: string | null = null): void {
    this.navigate({ section, runId: section === "run" ? (runId ?? this.live?.runId ?? null) : null });
  }

  private applyRoute(r: Route): void {
    this.route = r;
    if (r.section === "run" && r.runId && this.api && this.live?.runId !== r.runId) void this.loadRun(r.runId);
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
      if (this.live) await this.loadRun(this.live.runId);
      return;
    }
  }

  private onEvent(e: EngineEvent): void {
    const live = this.live;
    const loading = this.loading !== null && "runId" in e && this.loading.runId === e.runId ? this.loading : null;
    if (e.type === "run.step") {
      const m = e.metrics as unknown as StepMetrics;
      if (live?.runId === e.runId) live.addStep(m);
      loading?.addStep(m);
      // The Runs table's progress and figures follow every run's steps, not only the one on show.
      this.runs = this.runs.map((r) => (r.id === e.runId ? { ...r, step: m.step, summary: addStep({ ...r.summary, stepMs: {} }, m) } : r));
    }
    if (e.type === "run.status") {
      if (live?.runId === e.runId) live.setStatus(e.status);
      loading?.setStatus(e.status);
      if (e.error) this.error = `Run stopped with an error: ${e.error}`;
      void this.refreshRuns();
    }
    // The change joins the history (a marker is drawn) and the config (the controls show it).
    if (e.type === "run.compare" && live?.runId === e.runId && this.api) live.onCompare(e, this.api);
    if (e.type === "run.checkpoint" && live?.runId === e.runId && live.run) live.run = { ...live.run, lastCheckpoint: e.dir };
    if (e.type === "run.patch" && live?.runId === e.runId && live.run) {
      // The configured values it replaces, as the engine keeps them in the run's history.
      const before = Object.fromEntries(Object.keys(e.patch).map((k) => [k, (live.run!.config as Record<string, unknown>)[k]]));
      live.run = { ...live.run, config: { ...live.run.config, ...e.patch }, history: [...live.run.history, { step: e.step, patch: e.patch, before }] };
    }
  }

  /** Ask before an action; resolves with the user's answer (Cancel and Escape are no). */
  confirm(c: Confirmation): Promise<boolean> {
    this.confirmation?.answer(false);
    return new Promise((resolve) => {
      this.confirmation = {
        ...c,
        answer: (yes) => {
          this.confirmation = null;
          resolve(yes);
        },
      };
    });
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

  /** Show a run's screen (its URL is #/run/<id>). */
  openRun(runId: string): void {
    this.notice = null;
    this.go("run", runId);
  }

  /** Load a run's history into the run screen. */
  private async loadRun(runId: string): Promise<void> {
    if (!this.api) return;
    const live = new LiveRun(runId);
    this.loading = live;
    const ok = await this.attempt("Opening the run", async () => {
      await live.load(this.api!);
      return true;
    });
    if (this.loading === live) this.loading = null;
    // A later route may have asked for another run meanwhile.
    if (ok && this.route.runId === runId) this.live = live;
  }

  /** Forget a deleted run on screen. */
  forgetRun(runId: string): void {
    if (this.live?.runId === runId) this.live = null;
    if (this.route.runId === runId) this.go("runs");
  }
}
