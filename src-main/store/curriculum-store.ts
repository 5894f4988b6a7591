// A run's curriculum on disk, kept so that a step's write does not grow with the run's length:
//  - history.jsonl: one line per step (the step's outcomes in the order observed, every METIS
//    prediction, the judgment baseline after it), appended. The full history; what readers use.
//  - curriculum.json: a lowdb snapshot {format, step, historyBytes, state} of the working state the
//    curricula decide from (bounded by the dataset), rewritten atomically every `snapshotEvery`
//    steps and on restore. Opening replays the history lines written after it.
// A checkpoint saves the working state and the history's byte length; resume restores that state
// and cuts the history back to that length, so re-run steps are logged once. A line torn by a
// crash (no final newline) is ignored with a warning and cut before the next append.
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, truncateSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { Low } from "lowdb";
import { DataFile } from "lowdb/node";
import { emptyCurriculumState, recordOutcome, type CurriculumState, type Outcome } from "../curriculum/curriculum.js";
import { isObject, kindOf, readDocument, RunFileError } from "./run-file.js";

/** curriculum.json's format: 2 is the snapshot with history.jsonl beside it (1, unmarked, held every outcome). */
export const CURRICULUM_FORMAT = 2;
export const CURRICULUM_FILE = "curriculum.json";
export const HISTORY_FILE = "history.jsonl";

/** One line of history.jsonl: what one step observed. */
export interface StepRecord {
  step: number;
  /** The step's outcomes, in the order they were recorded. */
  outcomes: ({ id: string } & Omit<Outcome, "step">)[];
  /** Every METIS prediction made this step (null: none of its judgments parsed). */
  predictions: { id: string; predicted: number | null }[];
  /** METIS's moving-average judgment baseline after the step. */
  judgmentBaseline: number | null;
}

/** What curriculum.json holds. */
interface Snapshot {
  format: number;
  /** The last step the state includes. */
  step: number;
  /** history.jsonl's length when the state was taken: lines after it are replayed on open. */
  historyBytes: number;
  state: CurriculumState;
}

/** A run's curriculum: the working state in memory, its snapshot and the appended history. */
export class CurriculumStore {
  private pending: Omit<StepRecord, "step" | "judgmentBaseline"> = { outcomes: [], predictions: [] };
  private pendingStep: number | null = null;
  /** history.jsonl's length up to its last complete line. */
  private bytes: number;

  private constructor(
    readonly dir: string,
    private readonly snapshot: Low<Snapshot>,
    /** Complete history lines end here; anything after is a torn line, cut before the next append. */
    validBytes: number,
    private readonly warn: (message: string) => void,
    /** Steps between snapshots. */
    private readonly snapshotEvery: number,
  ) {
    this.bytes = validBytes;
  }

  /** The working state: the curricula read it, the loop records into it. */
  get state(): CurriculumState {
    return this.snapshot.data.state;
  }

  /** history.jsonl's length after the last committed step: a checkpoint saves it. */
  get historyBytes(): number {
    return this.bytes;
  }

  private get historyPath(): string {
    return join(this.dir, HISTORY_FILE);
  }

  /** The files of a new run's curriculum in `dir`. */
  static async create(dir: string, options: StoreOptions = {}): Promise<CurriculumStore> {
    writeFileSync(join(dir, HISTORY_FILE), "");
    const store = new CurriculumStore(dir, snapshotDoc(dir, { format: CURRICULUM_FORMAT, step: 0, historyBytes: 0, state: emptyCurriculumState() }), 0, options.warn ?? console.warn, options.snapshotEvery ?? SNAPSHOT_EVERY);
    await store.snapshot.write();
    return store;
  }

  /**
   * Open a run's curriculum: the snapshot, then the history lines after it replayed. A corrupt
   * snapshot is a RunFileError; a torn or unreadable history line is skipped with a warning. A
   * format-1 curriculum.json (every outcome inline) is converted once: its history written out.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<CurriculumStore> {
    const path = join(dir, CURRICULUM_FILE);
    const warn = options.warn ?? console.warn;
    const doc = snapshotDoc(dir, null as unknown as Snapshot);
    await readDocument(doc, path);
    const data: unknown = doc.data;
    if (isObject(data) && data.format === undefined && "prompts" in data) {
      checkLegacy(data, path);
      const { state, records } = fromLegacy(data as unknown as LegacyState);
      const historyPath = join(dir, HISTORY_FILE);
      if (existsSync(historyPath) && statSync(historyPath).size > 0) throw new RunFileError(path, `is in the old format, but ${HISTORY_FILE} already holds a history (expected one or the other)`);
      writeFileSync(historyPath, records.map((r) => JSON.stringify(r) + "\n").join(""));
      doc.data = { format: CURRICULUM_FORMAT, step: records.at(-1)?.step ?? 0, historyBytes: statSync(historyPath).size, state };
      await doc.write();
    }
    checkSnapshot(doc.data, path);
    const store = new CurriculumStore(dir, doc, doc.data.historyBytes, warn, options.snapshotEvery ?? SNAPSHOT_EVERY);
    store.replay();
    return store;
  }

  /** Record a rolled-out group's outcome in the state, and in the step's history line. */
  recordOutcome(id: string, outcome: Outcome): void {
    this.checkStep(outcome.step);
    recordOutcome(this.state, id, outcome);
    this.pending.outcomes.push({ id, variance: outcome.variance, mean: outcome.mean, samples: outcome.samples });
  }

  /** Record a METIS prediction in the step's history line (no decision reads past predictions). */
  recordPrediction(id: string, step: number, predicted: number | null): void {
    this.checkStep(step);
    this.pending.predictions.push({ id, predicted });
  }

  /** Append step `step`'s history line; the snapshot is rewritten every `snapshotEvery` steps. */
  async commitStep(step: number): Promise<void> {
    this.checkStep(step);
    const record: StepRecord = { step, ...this.pending, judgmentBaseline: this.state.judgmentBaseline ?? null };
    this.pending = { outcomes: [], predictions: [] };
    this.pendingStep = null;
    this.cutTornLine();
    const line = JSON.stringify(record) + "\n";
    appendFileSync(this.historyPath, line);
    this.bytes += Buffer.byteLength(line);
    if (step - this.snapshot.data.step >= this.snapshotEvery) await this.writeSnapshot(step);
  }

  /**
   * Continue from a checkpoint's state after `step`: the history is cut back to `historyBytes`
   * (what it held when the checkpoint was written); without it (a checkpoint from before the
   * history was kept apart) to the lines of steps ≤ `step`. A format-1 state is converted.
   */
  async restore(state: CurriculumState, step: number, historyBytes?: number): Promise<void> {
    this.pending = { outcomes: [], predictions: [] };
    this.pendingStep = null;
    const size = existsSync(this.historyPath) ? statSync(this.historyPath).size : 0;
    if (historyBytes !== undefined && historyBytes <= size && endsLine(this.historyPath, historyBytes)) {
      if (size > historyBytes) {
        this.warn(`metis: ${this.historyPath}: dropped ${size - historyBytes} bytes logged after step ${step}, the step resumed from (those steps run again)`);
        truncateSync(this.historyPath, historyBytes);
      }
      this.bytes = historyBytes;
    } else {
      if (historyBytes !== undefined) this.warn(`metis: ${this.historyPath}: holds ${size} bytes where step ${step}'s checkpoint expects a line ending at ${historyBytes}; keeping the lines of steps ≤ ${step}`);
      this.bytes = compactHistory(this.historyPath, step, this.warn);
    }
    const restored = isLegacy(state) ? fromLegacy(state as unknown as LegacyState).state : structuredClone(state);
    this.snapshot.data = { format: CURRICULUM_FORMAT, step, historyBytes: this.bytes, state: restored };
    await this.snapshot.write();
  }

  /** Every step's history line, oldest first, read a chunk at a time; torn or unreadable lines are skipped with a warning. */
  *history(): Generator<StepRecord> {
    for (const line of readLines(this.historyPath, 0)) {
      const record = parseRecord(line, this.historyPath, this.warn);
      if (record) yield record;
    }
  }

  private async writeSnapshot(step: number): Promise<void> {
    this.snapshot.data.step = step;
    this.snapshot.data.historyBytes = this.bytes;
    await this.snapshot.write();
  }

  /** Apply the history lines written after the snapshot (steps it does not include yet). */
  private replay(): void {
    const size = existsSync(this.historyPath) ? statSync(this.historyPath).size : 0;
    if (size < this.bytes) {
      this.warn(`metis: ${this.historyPath}: holds ${size} bytes, fewer than the ${this.bytes} ${CURRICULUM_FILE} was taken at; the steps after ${this.snapshot.data.step} are not in the state`);
      // Appends continue after its last complete line.
      this.bytes = 0;
      for (const line of readLines(this.historyPath, 0)) if (line.complete) this.bytes = line.end;
      return;
    }
    for (const line of readLines(this.historyPath, this.bytes)) {
      const record = parseRecord(line, this.historyPath, this.warn);
      if (!line.complete) break;
      this.bytes = line.end;
      if (!record || record.step <= this.snapshot.data.step) continue;
      for (const o of record.outcomes) recordOutcome(this.state, o.id, { step: record.step, variance: o.variance, mean: o.mean, samples: o.samples });
      if (record.judgmentBaseline !== null) this.state.judgmentBaseline = record.judgmentBaseline;
    }
  }

  /** A torn last line is cut before anything is appended after it. */
  private cutTornLine(): void {
    if (existsSync(this.historyPath) && statSync(this.historyPath).size > this.bytes) truncateSync(this.historyPath, this.bytes);
  }

  private checkStep(step: number): void {
    if (this.pendingStep !== null && this.pendingStep !== step) throw new Error(`curriculum: step ${step} recorded while step ${this.pendingStep} is uncommitted`);
    this.pendingStep = step;
  }
}

export interface StoreOptions {
  /** Where warnings go (console.warn). */
  warn?: (message: string) => void;
  /** Steps between snapshots of the working state (SNAPSHOT_EVERY). */
  snapshotEvery?: number;
}

/** Steps between snapshots: opening replays at most this many history lines. */
export const SNAPSHOT_EVERY = 100;

function snapshotDoc(dir: string, data: Snapshot): Low<Snapshot> {
  return new Low(new DataFile<Snapshot>(join(dir, CURRICULUM_FILE), { parse: JSON.parse, stringify: (d) => JSON.stringify(d) }), data);
}

/** One line of history.jsonl: its text, the file offset just after it, and whether it ended with a newline. */
interface Line {
  text: string;
  end: number;
  complete: boolean;
}

const CHUNK = 1 << 20;

/** The lines of `path` from byte `from`, read a chunk at a time (memory bounded by the chunk and the longest line). */
function* readLines(path: string, from: number): Generator<Line> {
  if (!existsSync(path)) return;
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry = Buffer.alloc(0);
    let pos = from; // file offset of carry's first byte
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, pos + carry.length);
      if (n === 0) break;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        yield { text: buf.toString("utf8", start, nl), end: pos + nl + 1, complete: true };
        start = nl + 1;
      }
      pos += start;
      carry = Buffer.from(buf.subarray(start)); // a copy: `chunk` is reused
    }
    if (carry.length > 0) yield { text: carry.toString("utf8"), end: pos + carry.length, complete: false };
  } finally {
    closeSync(fd);
  }
}

/** A history line as a record; null (with a warning) for a torn or unreadable one. */
function parseRecord(line: Line, path: string, warn: (m: string) => void): StepRecord | null {
  const at = `${path}: the line ending at byte ${line.end}`;
  if (!line.complete) {
    warn(`metis: ${at} has no newline (a write cut by a crash): ignored`);
    return null;
  }
  if (line.text.trim() === "") return null;
  try {
    const r = JSON.parse(line.text) as StepRecord;
    if (!Number.isInteger(r.step) || !Array.isArray(r.outcomes) || !Array.isArray(r.predictions)) throw new Error("expected {step, outcomes, predictions}");
    return r;
  } catch (e) {
    warn(`metis: ${at} is not a step record (${(e as Error).message}): ignored`);
    return null;
  }
}

/** Whether byte `offset` of `path` begins a line (the start, or just after a newline). */
function endsLine(path: string, offset: number): boolean {
  if (offset === 0) return true;
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(1);
    return readSync(fd, b, 0, 1, offset - 1) === 1 && b[0] === 10;
  } finally {
    closeSync(fd);
  }
}

/** Rewrite the history keeping its readable lines of steps ≤ `step`, in increasing step order; returns its new length. */
function compactHistory(path: string, step: number, warn: (m: string) => void): number {
  if (!existsSync(path)) {
    writeFileSync(path, "");
    return 0;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, "");
  let bytes = 0, last = 0, batch = "";
  for (const line of readLines(path, 0)) {
    const r = parseRecord(line, path, warn);
    if (!r || r.step > step || r.step <= last) continue;
    last = r.step;
    batch += line.text + "\n";
    if (batch.length > CHUNK) {
      appendFileSync(tmp, batch);
      bytes += Buffer.byteLength(batch);
      batch = "";
    }
  }
  appendFileSync(tmp, batch);
  bytes += Buffer.byteLength(batch);
  renameSync(tmp, path);
  return bytes;
}

/** curriculum.json must hold a snapshot: format, step, history length and the working state. */
function checkSnapshot(data: unknown, path: string): asserts data is Snapshot {
  if (!isObject(data)) throw new RunFileError(path, `expected the curriculum state (a JSON object), found ${kindOf(data)}`);
  if (data.format !== CURRICULUM_FORMAT) throw new RunFileError(path, `field "format" should be ${CURRICULUM_FORMAT}, found ${"format" in data ? kindOf(data.format) : "nothing"}`);
  const expect = (ok: boolean, field: string, what: string): void => {
    if (!ok) throw new RunFileError(path, `field "${field}" should be ${what}, found ${field in data ? kindOf(data[field]) : "nothing"}`);
  };
  expect(Number.isInteger(data.step) && (data.step as number) >= 0, "step", "a whole number ≥ 0");
  expect(Number.isInteger(data.historyBytes) && (data.historyBytes as number) >= 0, "historyBytes", "a whole number ≥ 0");
  expect(isObject(data.state), "state", "an object (the working state)");
  const state = data.state as Record<string, unknown>;
  if (!isObject(state.prompts)) throw new RunFileError(path, `field "state.prompts" should be an object of per-prompt stats, found ${"prompts" in state ? kindOf(state.prompts) : "nothing"}`);
  if (!Array.isArray(state.recent)) throw new RunFileError(path, `field "state.recent" should be an array, found ${"recent" in state ? kindOf(state.recent) : "nothing"}`);
}

/** The format-1 state: every outcome and prediction of every prompt inline. */
interface LegacyState {
  prompts: Record<string, { outcomes: Outcome[]; predictions: { step: number; predicted: number | null }[] }>;
  recent: { id: string; step: number; variance: number }[];
  judgmentBaseline?: number | null;
}

function isLegacy(state: unknown): boolean {
  if (!isObject(state) || !isObject(state.prompts)) return false;
  const first = Object.values(state.prompts)[0];
  return isObject(first) && Array.isArray(first.outcomes);
}

/** A format-1 curriculum.json must hold `prompts` by id and the `recent` window. */
function checkLegacy(data: Record<string, unknown>, path: string): void {
  if (!isObject(data.prompts)) throw new RunFileError(path, `field "prompts" should be an object of per-prompt records, found ${kindOf(data.prompts)}`);
  if (!Array.isArray(data.recent)) throw new RunFileError(path, `field "recent" should be an array, found ${"recent" in data ? kindOf(data.recent) : "nothing"}`);
}

/**
 * A format-1 state as the working state and one history record per step. Within a step the
 * outcomes' order is not known (it was kept only for the recent window, which is carried over);
 * the judgment baseline is known only after the last step.
 */
function fromLegacy(old: LegacyState): { state: CurriculumState; records: StepRecord[] } {
  const bySteps = new Map<number, StepRecord>();
  const at = (step: number): StepRecord => {
    let r = bySteps.get(step);
    if (!r) bySteps.set(step, (r = { step, outcomes: [], predictions: [], judgmentBaseline: null }));
    return r;
  };
  for (const [id, rec] of Object.entries(old.prompts)) {
    for (const o of rec.outcomes ?? []) at(o.step).outcomes.push({ id, variance: o.variance, mean: o.mean, samples: o.samples });
    for (const p of rec.predictions ?? []) at(p.step).predictions.push({ id, predicted: p.predicted });
  }
  const records = [...bySteps.values()].sort((a, b) => a.step - b.step);
  const state = emptyCurriculumState();
  for (const r of records) for (const o of r.outcomes) recordOutcome(state, o.id, { step: r.step, variance: o.variance, mean: o.mean, samples: o.samples });
  state.recent = old.recent.flatMap((r) => {
    const o = old.prompts[r.id]?.outcomes.find((x) => x.step === r.step);
    return o ? [{ id: r.id, step: r.step, variance: r.variance, mean: o.mean }] : [];
  });
  if (old.judgmentBaseline !== undefined) {
    state.judgmentBaseline = old.judgmentBaseline;
    if (records.length > 0) records.at(-1)!.judgmentBaseline = old.judgmentBaseline;
  }
  return { state, records };
}
