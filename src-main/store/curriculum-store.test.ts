import { appendFileSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emptyCurriculumState, recordOutcome, type CurriculumState, type Outcome } from "../curriculum/curriculum.js";
import { useTempDir } from "../testing/temp-dir.js";
import { Rng, type RngState } from "../util/rng.js";
import { CurriculumStore, type StepRecord } from "./curriculum-store.js";

const tmp = useTempDir();
let dirs = 0;
/** An empty run directory (RunStore.create makes it before the curriculum's files). */
const fresh = (): string => {
  const dir = tmp.path(`c-${dirs++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** What a METIS step records: 32 predictions, 8 outcomes over 50 prompts, a moving baseline. */
function simulateStep(store: CurriculumStore, step: number, rng: Rng): void {
  const ids = rng.shuffle(Array.from({ length: 50 }, (_, i) => `p${i}`)).slice(0, 32);
  for (const id of ids) store.recordPrediction(id, step, rng.uniform() < 0.1 ? null : rng.uniform() / 4);
  for (const id of ids.slice(0, 8)) {
    const mean = rng.int(5) / 4;
    store.recordOutcome(id, { step, mean, variance: mean * (1 - mean), samples: 4 });
  }
  const b = store.state.judgmentBaseline ?? 0.5;
  store.state.judgmentBaseline = 0.9 * b + 0.1 * rng.uniform();
}

async function run(store: CurriculumStore, from: number, to: number, rng: Rng): Promise<void> {
  for (let s = from; s <= to; s++) {
    simulateStep(store, s, rng);
    await store.commitStep(s);
  }
}

const quiet = (): { warn: (m: string) => void; warnings: string[] } => {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m) };
};

describe("CurriculumStore", () => {
  it("opening replays the history after the snapshot into exactly the state in memory", async () => {
    const dir = fresh();
    const store = await CurriculumStore.create(dir, { snapshotEvery: 7 });
    await run(store, 1, 30, new Rng(1));
    const snapshot = JSON.parse(readFileSync(join(dir, "curriculum.json"), "utf8")) as { step: number };
    expect(snapshot.step).toBe(28); // steps 29 and 30 come from the history
    const reopened = await CurriculumStore.open(dir);
    expect(reopened.state).toEqual(store.state);
    expect(reopened.historyBytes).toBe(statSync(join(dir, "history.jsonl")).size);
    const records = [...reopened.history()];
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(records[0]!.predictions).toHaveLength(32);
    expect(records[0]!.outcomes).toHaveLength(8);
  });

  it("resumes exactly after a crash mid-append: the torn line is ignored with a warning, re-run steps are logged once", async () => {
    // Uninterrupted.
    const straightDir = fresh();
    const straight = await CurriculumStore.create(straightDir, { snapshotEvery: 7 });
    await run(straight, 1, 30, new Rng(2));

    // The same steps, a checkpoint after step 20, then a crash while step 26's line was being appended.
    const dir = fresh();
    const first = await CurriculumStore.create(dir, { snapshotEvery: 7 });
    const rng = new Rng(2);
    await run(first, 1, 20, rng);
    const checkpoint = { state: JSON.parse(JSON.stringify(first.state)) as CurriculumState, historyBytes: first.historyBytes, rng: rng.state() as RngState };
    await run(first, 21, 25, rng);
    simulateStep(first, 26, rng);
    const line = JSON.stringify({ step: 26, outcomes: [], predictions: [], judgmentBaseline: null });
    appendFileSync(join(dir, "history.jsonl"), line.slice(0, 20));

    const { warn, warnings } = quiet();
    const reopened = await CurriculumStore.open(dir, { warn, snapshotEvery: 7 });
    expect(warnings.join("\n")).toMatch(/history\.jsonl: the line ending at byte \d+ has no newline \(a write cut by a crash\): ignored/);
    // The state holds steps 1–25: what the straight run had after step 25 is not checked here, only that 26 is absent.
    expect([...reopened.history()].at(-1)!.step).toBe(25);

    await reopened.restore(checkpoint.state, 20, checkpoint.historyBytes);
    expect(warnings.join("\n")).toMatch(/dropped \d+ bytes logged after step 20, the step resumed from/);
    await run(reopened, 21, 30, new Rng(checkpoint.rng));
    expect(reopened.state).toEqual(straight.state);
    expect(readFileSync(join(dir, "history.jsonl"))).toEqual(readFileSync(join(straightDir, "history.jsonl")));
    expect((await CurriculumStore.open(dir)).state).toEqual(straight.state);
  });

  it("a torn last line is cut before the next append, so no line is glued to it", async () => {
    const dir = fresh();
    const store = await CurriculumStore.create(dir);
    await run(store, 1, 3, new Rng(3));
    appendFileSync(join(dir, "history.jsonl"), '{"step": 4, "outc');
    const { warn, warnings } = quiet();
    const reopened = await CurriculumStore.open(dir, { warn });
    await run(reopened, 4, 5, new Rng(4));
    const steps = [...reopened.history()].map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    expect(warnings).toHaveLength(1);
  });

  it("stays bounded: the snapshot and each line stop growing with the run's length", async () => {
    const dir = fresh();
    const store = await CurriculumStore.create(dir, { snapshotEvery: 100 });
    const rng = new Rng(5);
    await run(store, 1, 500, rng);
    const at500 = statSync(join(dir, "curriculum.json")).size;
    const lines500 = store.historyBytes / 500;
    await run(store, 501, 2000, rng);
    const at2000 = statSync(join(dir, "curriculum.json")).size;
    // 50 prompts, 256 recent outcomes: the same size up to the digits of the step numbers.
    expect(at2000 / at500).toBeLessThan(1.05);
    expect(Object.keys(store.state.prompts)).toHaveLength(50);
    expect(store.state.recent).toHaveLength(256);
    expect(store.historyBytes / 2000 / lines500).toBeLessThan(1.05);
  });

  it("converts a format-1 curriculum.json (every outcome inline) into a snapshot and history; an old checkpoint's state restores", async () => {
    const dir = fresh();
    // What the old store wrote: outcomes and predictions per prompt.
    const outcomes: [string, Outcome][] = [];
    const rng = new Rng(6);
    for (let step = 1; step <= 6; step++) for (const id of ["a", "b", "c"].slice(0, 1 + (step % 3))) {
      const mean = rng.int(5) / 4;
      outcomes.push([id, { step, mean, variance: mean * (1 - mean), samples: 4 }]);
    }
    const legacy = (upTo: number): Record<string, unknown> => {
      const prompts: Record<string, { outcomes: Outcome[]; predictions: { step: number; predicted: number | null }[] }> = {};
      const recent: { id: string; step: number; variance: number }[] = [];
      for (const [id, o] of outcomes.filter(([, o]) => o.step <= upTo)) {
        (prompts[id] ??= { outcomes: [], predictions: [] }).outcomes.push(o);
        prompts[id].predictions.push({ step: o.step, predicted: 0.1 });
        recent.push({ id, step: o.step, variance: o.variance });
      }
      return { prompts, recent, judgmentBaseline: 0.4 };
    };
    writeFileSync(join(dir, "curriculum.json"), JSON.stringify(legacy(6), null, 2));
    const store = await CurriculumStore.open(dir);
    const expected = emptyCurriculumState();
    for (const [id, o] of outcomes) recordOutcome(expected, id, o);
    expected.judgmentBaseline = 0.4;
    expect(store.state).toEqual(expected);
    const records: StepRecord[] = [...store.history()];
    expect(records.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records.flatMap((r) => r.outcomes)).toHaveLength(outcomes.length);
    expect(records.at(-1)!.judgmentBaseline).toBe(0.4);
    expect((JSON.parse(readFileSync(join(dir, "curriculum.json"), "utf8")) as { format: number }).format).toBe(2);

    // An old checkpoint after step 4 holds a format-1 state and no history length.
    await store.restore(legacy(4) as unknown as CurriculumState, 4);
    const upTo4 = emptyCurriculumState();
    for (const [id, o] of outcomes.filter(([, o]) => o.step <= 4)) recordOutcome(upTo4, id, o);
    upTo4.judgmentBaseline = 0.4;
    expect(store.state).toEqual(upTo4);
    expect([...store.history()].map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(store.historyBytes).toBe(statSync(join(dir, "history.jsonl")).size);
  });

  it("a history shorter than the checkpoint expects keeps what it has, with a warning, never a crash", async () => {
    const dir = fresh();
    const store = await CurriculumStore.create(dir);
    await run(store, 1, 5, new Rng(7));
    const state = JSON.parse(JSON.stringify(store.state)) as CurriculumState;
    const bytes = store.historyBytes;
    truncateSync(join(dir, "history.jsonl"), bytes - 10);
    const { warn, warnings } = quiet();
    const reopened = await CurriculumStore.open(dir, { warn });
    await reopened.restore(state, 5, bytes);
    expect(warnings.join("\n")).toMatch(/where step 5's checkpoint expects a line ending at/);
    expect([...reopened.history()].map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(reopened.state).toEqual(state);
  });

  it("a history cut shorter than the snapshot was taken at: a warning, and appends continue after its last complete line", async () => {
    const dir = fresh();
    const store = await CurriculumStore.create(dir, { snapshotEvery: 4 });
    await run(store, 1, 4, new Rng(9));
    const full = readFileSync(join(dir, "history.jsonl"));
    truncateSync(join(dir, "history.jsonl"), full.length - 10);
    const { warn, warnings } = quiet();
    const reopened = await CurriculumStore.open(dir, { warn });
    expect(warnings.join("\n")).toMatch(/fewer than the \d+ curriculum\.json was taken at; the steps after 4 are not in the state/);
    await run(reopened, 5, 5, new Rng(10));
    expect([...reopened.history()].map((r) => r.step)).toEqual([1, 2, 3, 5]);
  });

  it("refuses a step recorded while another is uncommitted", async () => {
    const store = await CurriculumStore.create(fresh());
    store.recordPrediction("a", 1, 0.1);
    expect(() => store.recordOutcome("a", { step: 2, mean: 1, variance: 0, samples: 4 })).toThrow("curriculum: step 2 recorded while step 1 is uncommitted");
  });
});
