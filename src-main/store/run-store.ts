// A run on disk: run.json (config, status, step, history of changes) as a lowdb document written
// atomically (temporary file + rename); the curriculum's working-state snapshot (curriculum.json)
// and its per-step history (history.jsonl, appended), see curriculum-store.ts; metrics.jsonl
// appended one line per step; checkpoints/<step>/ directories.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import type { RftConfig, RftPatch } from "../rft/rft-config.js";
import { CurriculumStore, type StoreOptions } from "./curriculum-store.js";
import { isObject, kindOf, readDocument, RunFileError } from "./run-file.js";

export { RunFileError } from "./run-file.js";

export const RUN_STATUSES = ["created", "running", "paused", "stopped", "finished", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A checkpoint directory being written: `step-0000012.tmp-<pid>` (train/checkpoint.ts). */
const TMP_CHECKPOINT = /^step-\d+\.tmp-(\d+)$/;
/** A complete checkpoint, or its copy moved aside while a newer one of the same step replaced it. */
const COMPLETE_CHECKPOINT = /^step-\d+(\.old)?$/;

/** What run.json holds. */
export interface RunRecord {
  id: string;
  createdAt: string;
  config: RftConfig;
  status: RunStatus;
  step: number;
  /** Mid-run changes, in order, with the configured values they replaced (absent in runs written before it was kept). */
  history: { step: number; at: string; patch: RftPatch; before?: Partial<RftConfig> }[];
  lastCheckpoint: string | null;
  error: string | null;
}

/** The files of one run. */
export class RunStore {
  private constructor(
    readonly dir: string,
    readonly run: Low<RunRecord>,
    /** The curriculum's working state and history. */
    readonly curriculum: CurriculumStore,
  ) {}

  /** Create the files of a new run in `dir`. */
  static async create(dir: string, record: RunRecord, options: StoreOptions = {}): Promise<RunStore> {
    if (existsSync(join(dir, "run.json"))) throw new Error(`${dir} already holds a run`);
    mkdirSync(join(dir, "checkpoints"), { recursive: true });
    const curriculum = await CurriculumStore.create(dir, options);
    const store = new RunStore(dir, new Low(new JSONFile<RunRecord>(join(dir, "run.json")), record), curriculum);
    await store.run.write();
    return store;
  }

  /** Open an existing run; a corrupt file is a RunFileError naming it and what is wrong. Stale checkpoint directories are removed. */
  static async open(dir: string, options: StoreOptions = {}): Promise<RunStore> {
    const runPath = join(dir, "run.json");
    if (!existsSync(runPath)) throw new Error(`${dir}: no run.json (not a run directory)`);
    const run = new Low(new JSONFile<RunRecord>(runPath), null as unknown as RunRecord);
    await readDocument(run, runPath);
    checkRunRecord(run.data, runPath);
    const store = new RunStore(dir, run, await CurriculumStore.open(dir, options));
    store.removeStaleCheckpoints();
    return store;
  }

  /** Append one metrics line (a partially written last line is skipped by readMetrics). */
  appendMetrics(entry: object): void {
    appendFileSync(join(this.dir, "metrics.jsonl"), JSON.stringify(entry) + "\n");
  }

  /**
   * Every complete metrics line; a step re-run after a crash (its checkpoint came before it)
   * appears once, with the values of its last run.
   */
  readMetrics(): Record<string, unknown>[] {
    const path = join(this.dir, "metrics.jsonl");
    if (!existsSync(path)) return [];
    const out: Record<string, unknown>[] = [];
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* a line cut by a crash */
      }
    }
    const byStep = new Map<unknown, Record<string, unknown>>();
    for (const m of out) byStep.set(m.step ?? byStep.size, m);
    return [...byStep.values()].sort((a, b) => Number(a.step) - Number(b.step));
  }

  /** Directory of the checkpoint after `step`. */
  checkpointDir(step: number): string {
    return join(this.dir, "checkpoints", `step-${String(step).padStart(7, "0")}`);
  }

  /** The newest complete checkpoint, if any. */
  latestCheckpoint(): string | null {
    const last = this.completeCheckpoints()[0];
    return last ? last.replace(/\.old$/, "") : null;
  }

  /**
   * Every complete checkpoint directory (one holding checkpoint.json), newest first; a step's
   * moved-aside `.old` copy comes right after the step's own directory. Resume tries them in order.
   */
  checkpointCandidates(): string[] {
    return this.completeCheckpoints();
  }

  private completeCheckpoints(): string[] {
    const dir = join(this.dir, "checkpoints");
    if (!existsSync(dir)) return [];
    // Names sort by step (zero-padded); "step-N" before "step-N.old" once reversed needs the explicit order.
    const names = readdirSync(dir).filter((d) => COMPLETE_CHECKPOINT.test(d) && existsSync(join(dir, d, "checkpoint.json")));
    const key = (d: string): [number, number] => [Number(/\d+/.exec(d)![0]), d.endsWith(".old") ? 0 : 1];
    names.sort((a, b) => key(b)[0] - key(a)[0] || key(b)[1] - key(a)[1]);
    return names.map((d) => join(dir, d));
  }

  /**
   * Remove `step-N.tmp-PID` directories a crashed save left behind: those whose process is gone,
   * and those older than the newest complete checkpoint (its PID may since belong to another
   * process). A save in progress is newer than every complete checkpoint, and its process lives.
   */
  removeStaleCheckpoints(): string[] {
    const dir = join(this.dir, "checkpoints");
    if (!existsSync(dir)) return [];
    const newest = this.completeCheckpoints()[0];
    const newestTime = newest ? statSync(newest).mtimeMs : -Infinity;
    const removed: string[] = [];
    for (const name of readdirSync(dir)) {
      const m = TMP_CHECKPOINT.exec(name);
      if (!m) continue;
      const path = join(dir, name);
      if (processAlive(Number(m[1])) && statSync(path).mtimeMs >= newestTime) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    }
    return removed;
  }
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** run.json must hold a run record: the fields the loop and the app read, with their types. */
function checkRunRecord(data: unknown, path: string): asserts data is RunRecord {
  if (!isObject(data)) throw new RunFileError(path, `expected a run record (a JSON object), found ${kindOf(data)}`);
  const expect = (ok: boolean, field: string, what: string): void => {
    if (!ok) throw new RunFileError(path, `field "${field}" should be ${what}, found ${field in data ? kindOf(data[field]) : "nothing"}`);
  };
  expect(typeof data.id === "string", "id", "a string");
  expect(isObject(data.config), "config", "an object (the run's settings)");
  expect((RUN_STATUSES as readonly unknown[]).includes(data.status), "status", `one of ${RUN_STATUSES.join(", ")}`);
  expect(Number.isInteger(data.step) && (data.step as number) >= 0, "step", "a whole number ≥ 0");
  expect(Array.isArray(data.history), "history", "an array");
  expect(data.lastCheckpoint === null || data.lastCheckpoint === undefined || typeof data.lastCheckpoint === "string", "lastCheckpoint", "a string or null");
}
