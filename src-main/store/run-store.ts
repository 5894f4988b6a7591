// A run on disk: run.json (config, status, step, history of changes) and curriculum.json
// (per-prompt outcomes and predictions) as lowdb documents written atomically (temporary file +
// rename), metrics.jsonl appended one line per step, checkpoints/<step>/ directories.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import { emptyCurriculumState, type CurriculumState } from "../curriculum/curriculum.js";
import type { RftConfig, RftPatch } from "../rft/rft-config.js";

export type RunStatus = "created" | "running" | "paused" | "stopped" | "finished" | "failed";

/** What run.json holds. */
export interface RunRecord {
  id: string;
  createdAt: string;
  config: RftConfig;
  status: RunStatus;
  step: number;
  /** Mid-run changes, in order. */
  history: { step: number; at: string; patch: RftPatch }[];
  lastCheckpoint: string | null;
  error: string | null;
}

/** The files of one run. */
export class RunStore {
  private constructor(
    readonly dir: string,
    readonly run: Low<RunRecord>,
    readonly curriculum: Low<CurriculumState>,
  ) {}

  /** Create the files of a new run in `dir`. */
  static async create(dir: string, record: RunRecord): Promise<RunStore> {
    if (existsSync(join(dir, "run.json"))) throw new Error(`${dir} already holds a run`);
    mkdirSync(join(dir, "checkpoints"), { recursive: true });
    const store = new RunStore(dir, new Low(new JSONFile<RunRecord>(join(dir, "run.json")), record), new Low(new JSONFile<CurriculumState>(join(dir, "curriculum.json")), emptyCurriculumState()));
    await store.run.write();
    await store.curriculum.write();
    return store;
  }

  /** Open an existing run. */
  static async open(dir: string): Promise<RunStore> {
    if (!existsSync(join(dir, "run.json"))) throw new Error(`${dir}: no run.json (not a run directory)`);
    const run = new Low(new JSONFile<RunRecord>(join(dir, "run.json")), null as unknown as RunRecord);
    const curriculum = new Low(new JSONFile<CurriculumState>(join(dir, "curriculum.json")), emptyCurriculumState());
    await run.read();
    await curriculum.read();
    if (!run.data?.config) throw new Error(`${join(dir, "run.json")}: unreadable run record`);
    return new RunStore(dir, run, curriculum);
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
    const dir = join(this.dir, "checkpoints");
    if (!existsSync(dir)) return null;
    const complete = readdirSync(dir).filter((d) => /^step-\d+(\.old)?$/.test(d) && existsSync(join(dir, d, "checkpoint.json"))).sort();
    const last = complete.at(-1);
    return last ? join(dir, last.replace(/\.old$/, "")) : null;
  }
}
