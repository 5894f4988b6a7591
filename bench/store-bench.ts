// Long runs: the run store alone (no model) through many simulated METIS steps — each step judges
// pool × batch candidates (one prediction each), rolls out `batch` of them (an outcome each) and
// moves the judgment baseline — recording and committing what the loop records and commits
// (src-main/rft/rft-run.ts: the curriculum's step, then run.json). Per window of steps: the
// per-step write time (p50 / p99 / max), bytes written per step, the size of the curriculum state
// a checkpoint carries, RSS and the JS heap after a collection. Then, for contrast, the format-1
// store (every outcome and prediction in curriculum.json, rewritten whole with lowdb each step),
// fed the same steps and timed with one write at the end of each window.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import type { Outcome } from "../src-main/curriculum/curriculum.js";
import type { RftConfig } from "../src-main/rft/rft-config.js";
import { SNAPSHOT_EVERY } from "../src-main/store/curriculum-store.js";
import { RunStore } from "../src-main/store/run-store.js";
import { Rng } from "../src-main/util/rng.js";
import { writeResult } from "./write-result.js";

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;
const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Options {
  steps: number;
  prompts: number;
  batch: number;
  pool: number;
  group: number;
  window: number;
  seed: number;
}

/** One simulated METIS step: candidates with predictions (two decimals, as the judgment format asks), outcomes of the first `batch`. */
function simulate(o: Options, rng: Rng, ids: readonly string[], step: number): { predictions: { id: string; predicted: number | null }[]; outcomes: { id: string; outcome: Outcome }[]; baselineDraw: number } {
  const picked = new Set<number>();
  while (picked.size < Math.min(o.prompts, o.batch * o.pool)) picked.add(rng.int(o.prompts));
  const candidates = [...picked].map((i) => ids[i]!);
  const predictions = candidates.map((id) => ({ id, predicted: rng.uniform() < 0.05 ? null : Math.round(rng.uniform() * 25) / 100 }));
  const outcomes = candidates.slice(0, o.batch).map((id) => {
    const mean = rng.int(o.group + 1) / o.group;
    return { id, outcome: { step, mean, variance: mean * (1 - mean), samples: o.group } };
  });
  return { predictions, outcomes, baselineDraw: rng.uniform() };
}

const record = (id: string) => ({ id, createdAt: new Date().toISOString(), config: { steps: 0, scheduler: "metis" } as unknown as RftConfig, status: "running" as const, step: 0, history: [], lastCheckpoint: null, error: null });

interface WindowFigures {
  steps: [number, number];
  writeMs: { p50: number; p99: number; max: number; mean: number };
  bytesPerStep: number;
  snapshots: number;
  checkpointStateBytes: number;
  rssMB: number;
  heapUsedMB: number;
}

/** The store as the loop drives it, timed per step. */
async function current(o: Options, dir: string): Promise<{ windows: WindowFigures[]; historyMB: number }> {
  const store = await RunStore.create(dir, record("bench"));
  const ids = Array.from({ length: o.prompts }, (_, i) => `gsm8k-train-${i}`);
  const rng = new Rng(o.seed);
  const windows: WindowFigures[] = [];
  let times: number[] = [], bytes = 0, snapshots = 0;
  let snapshotIno = statSync(join(dir, "curriculum.json")).ino;
  for (let step = 1; step <= o.steps; step++) {
    const s = simulate(o, rng, ids, step);
    for (const p of s.predictions) store.curriculum.recordPrediction(p.id, step, p.predicted);
    for (const x of s.outcomes) store.curriculum.recordOutcome(x.id, x.outcome);
    store.curriculum.state.judgmentBaseline = 0.9 * (store.curriculum.state.judgmentBaseline ?? s.baselineDraw) + 0.1 * s.baselineDraw;
    store.run.data.step = step;
    const before = store.curriculum.historyBytes;
    const t0 = performance.now();
    await store.curriculum.commitStep(step);
    await store.run.write();
    times.push(performance.now() - t0);
    // What reached the disk: the history line, run.json, and the snapshot when it was rewritten (a new inode: temp file + rename).
    bytes += store.curriculum.historyBytes - before + statSync(join(dir, "run.json")).size;
    const snap = statSync(join(dir, "curriculum.json"));
    if (snap.ino !== snapshotIno) {
      snapshotIno = snap.ino;
      snapshots++;
      bytes += snap.size;
    }
    if (step % o.window === 0) {
      gc();
      const mem = process.memoryUsage();
      windows.push({
        steps: [step - o.window + 1, step],
        writeMs: { p50: round(quantile(times, 0.5)), p99: round(quantile(times, 0.99)), max: round(Math.max(...times)), mean: round(times.reduce((a, b) => a + b, 0) / times.length) },
        bytesPerStep: Math.round(bytes / times.length),
        snapshots,
        checkpointStateBytes: JSON.stringify(store.curriculum.state).length,
        rssMB: mb(mem.rss),
        heapUsedMB: mb(mem.heapUsed),
      });
      console.log(`steps ${step - o.window + 1}-${step}: write p50 ${windows.at(-1)!.writeMs.p50} ms, p99 ${windows.at(-1)!.writeMs.p99} ms, ${windows.at(-1)!.bytesPerStep} B/step, RSS ${windows.at(-1)!.rssMB} MB, heap ${windows.at(-1)!.heapUsedMB} MB`);
      times = [];
      bytes = 0;
      snapshots = 0;
    }
  }
  return { windows, historyMB: mb(store.curriculum.historyBytes) };
}

/** The format-1 store: every outcome and prediction per prompt in curriculum.json, written whole (lowdb, indented) after every step; timed once per window. */
async function formatOne(o: Options, dir: string): Promise<{ atStep: number; writeMs: number; bytes: number; heapUsedMB: number }[]> {
  type Rec = { outcomes: Outcome[]; predictions: { step: number; predicted: number | null }[] };
  const doc = new Low(new JSONFile<{ prompts: Record<string, Rec>; recent: { id: string; step: number; variance: number }[]; judgmentBaseline?: number | null }>(join(dir, "curriculum-format1.json")), { prompts: {}, recent: [] });
  const ids = Array.from({ length: o.prompts }, (_, i) => `gsm8k-train-${i}`);
  const rng = new Rng(o.seed);
  const out: { atStep: number; writeMs: number; bytes: number; heapUsedMB: number }[] = [];
  for (let step = 1; step <= o.steps; step++) {
    const s = simulate(o, rng, ids, step);
    const state = doc.data;
    for (const x of s.outcomes) {
      (state.prompts[x.id] ??= { outcomes: [], predictions: [] }).outcomes.push(x.outcome);
      state.recent.push({ id: x.id, step, variance: x.outcome.variance });
      if (state.recent.length > 256) state.recent.splice(0, state.recent.length - 256);
    }
    for (const p of s.predictions) (state.prompts[p.id] ??= { outcomes: [], predictions: [] }).predictions.push({ step, predicted: p.predicted });
    state.judgmentBaseline = 0.9 * (state.judgmentBaseline ?? s.baselineDraw) + 0.1 * s.baselineDraw;
    if (step % o.window === 0) {
      const t0 = performance.now();
      await doc.write();
      const writeMs = performance.now() - t0;
      gc();
      out.push({ atStep: step, writeMs: round(writeMs, 1), bytes: statSync(join(dir, "curriculum-format1.json")).size, heapUsedMB: mb(process.memoryUsage().heapUsed) });
      console.log(`format 1 at step ${step}: one write ${round(writeMs, 1)} ms, ${mb(out.at(-1)!.bytes)} MB, heap ${out.at(-1)!.heapUsedMB} MB`);
    }
  }
  return out;
}

/** `npm run bench -- store [--steps N] [--prompts N] [--batch N] [--pool K] [--group G] [--window N] [--no-format1]` */
export async function storeBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: "string", default: "10000" },
      prompts: { type: "string", default: "7473" }, // GSM8K's training split
      batch: { type: "string", default: "8" },
      pool: { type: "string", default: "4" },
      group: { type: "string", default: "8" },
      window: { type: "string", default: "1000" },
      seed: { type: "string", default: "1" },
      "no-format1": { type: "boolean", default: false },
    },
  });
  const o: Options = { steps: Number(values.steps), prompts: Number(values.prompts), batch: Number(values.batch), pool: Number(values.pool), group: Number(values.group), window: Number(values.window), seed: Number(values.seed) };
  const dir = mkdtempSync(join(tmpdir(), "metis-store-bench-"));
  try {
    const started = performance.now();
    const now = await current(o, join(dir, "run"));
    const seconds = round((performance.now() - started) / 1000, 1);
    const old = values["no-format1"] ? null : await formatOne(o, dir);
    const first = now.windows[0]!, last = now.windows.at(-1)!;
    return writeResult("store", {
      settings: { ...o, snapshotEvery: SNAPSHOT_EVERY, note: "simulated METIS steps: pool × batch predictions and batch outcomes per step; the time covers the curriculum's commit (history line, snapshot every snapshotEvery steps) and run.json's rewrite" },
      seconds,
      windows: now.windows,
      historyMB: now.historyMB,
      summary: {
        writeP50Ms: [first.writeMs.p50, last.writeMs.p50],
        writeP99Ms: [first.writeMs.p99, last.writeMs.p99],
        bytesPerStep: [first.bytesPerStep, last.bytesPerStep],
        rssMB: [first.rssMB, last.rssMB],
        heapUsedMB: [first.heapUsedMB, last.heapUsedMB],
      },
      format1: old,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
