// "Hold out N % of the training set": a deterministic split of a dataset into the rows a run
// trains on and the rows it measures on. Rows are ranked by a hash of their prompt text, so the
// same dataset and share always give the same split, whatever the file order or the run's seed,
// and rows that repeat a prompt always fall on the same side (a duplicate cannot leak).
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TaskRow } from "../datasets/task-row.js";

/** The shares a hold-out may take, in percent. */
export const HOLDOUT_MIN_PERCENT = 1;
export const HOLDOUT_MAX_PERCENT = 50;

/** A dataset cut in two: the rows trained on and the held-out rows, each in file order. */
export interface HoldoutSplit {
  train: TaskRow[];
  heldOut: TaskRow[];
}

function rank(prompt: string): string {
  return createHash("sha256").update("metis-holdout\0").update(prompt).digest("hex");
}

/**
 * Split `rows`, holding out about `percent` % of them (at least one row, and at least one left to
 * train on). Throws when there are fewer than two distinct prompts.
 */
export function splitHoldout(rows: readonly TaskRow[], percent: number): HoldoutSplit {
  if (!(percent >= HOLDOUT_MIN_PERCENT && percent <= HOLDOUT_MAX_PERCENT)) throw new Error(`a held-out share must be ${HOLDOUT_MIN_PERCENT}–${HOLDOUT_MAX_PERCENT} %, found ${percent}`);
  const prompts = [...new Set(rows.map((r) => r.prompt))];
  if (prompts.length < 2) throw new Error(`cannot hold out part of a dataset with ${prompts.length} distinct prompt${prompts.length === 1 ? "" : "s"}: choose another evaluation set`);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.prompt, (counts.get(r.prompt) ?? 0) + 1);
  const target = Math.max(1, Math.round((rows.length * percent) / 100));
  const ranked = prompts.map((p) => ({ p, key: rank(p) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const held = new Set<string>();
  let taken = 0;
  // Whole prompts until the target is reached, always leaving one prompt to train on.
  for (const { p } of ranked.slice(0, -1)) {
    if (taken >= target) break;
    held.add(p);
    taken += counts.get(p)!;
  }
  return { train: rows.filter((r) => !held.has(r.prompt)), heldOut: rows.filter((r) => held.has(r.prompt)) };
}

/** Write a split as `train.jsonl` and `held-out.jsonl` in `dir`; returns both paths. */
export function writeHoldoutSplit(split: HoldoutSplit, dir: string): { train: string; heldOut: string } {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, rows: readonly TaskRow[]): string => {
    const path = join(dir, name);
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    return path;
  };
  return { train: write("train.jsonl", split.train), heldOut: write("held-out.jsonl", split.heldOut) };
}
