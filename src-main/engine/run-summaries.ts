// The Runs table's per-run summary (steps, training time, recent step times, latest held-out),
// read from metrics.jsonl incrementally: each call reads only the bytes appended since the last,
// so listing runs stays cheap however long they are.
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { addStep, emptySummary, type RunSummary } from "../protocol/run-progress.js";

interface Cursor {
  /** Bytes read: always just after a newline, so a line still being written is read whole later. */
  offset: number;
  summary: RunSummary;
}

/** Summaries of run directories, each kept current by reading what its metrics file gained. */
export class RunSummaries {
  private readonly cursors = new Map<string, Cursor>();

  /** The summary of the run in `runDir` as of its metrics file now. */
  get(runDir: string): RunSummary {
    const path = join(runDir, "metrics.jsonl");
    let c = this.cursors.get(runDir) ?? { offset: 0, summary: emptySummary() };
    if (!existsSync(path)) return c.summary;
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      if (size < c.offset) c = { offset: 0, summary: emptySummary() }; // rewritten: start over
      if (size > c.offset) {
        // Only whole lines: the bytes after the last newline wait for the next call.
        const buf = Buffer.alloc(size - c.offset);
        readSync(fd, buf, 0, buf.length, c.offset);
        const end = buf.lastIndexOf(0x0a) + 1;
        const lines = buf.subarray(0, end).toString("utf8").split("\n");
        let summary = c.summary;
        for (const line of lines) {
          if (line.trim() === "") continue;
          try {
            const m = JSON.parse(line) as { step?: unknown; stepMs?: unknown; scheduler?: unknown; heldOutPassRate?: unknown };
            if (typeof m.step !== "number") continue;
            summary = addStep(summary, { step: m.step, stepMs: Number(m.stepMs), ...(typeof m.scheduler === "string" ? { scheduler: m.scheduler } : {}), heldOutPassRate: typeof m.heldOutPassRate === "number" ? m.heldOutPassRate : null });
          } catch {
            // A line cut by a crash: skipped, as RunStore.readMetrics does.
          }
        }
        c = { offset: c.offset + end, summary };
      }
    } finally {
      closeSync(fd);
    }
    this.cursors.set(runDir, c);
    return c.summary;
  }

  /** Forget a run (deleted). */
  forget(runDir: string): void {
    this.cursors.delete(runDir);
  }
}
