// Training checkpoints: trainable weights, AdamW moments, step and caller state (config, RNG),
// written to a temporary directory and renamed, so a crash leaves the previous one intact.
// Loading checks everything (JSON, tensors, sizes, finite values) before the trainer is touched,
// and resume falls back past a checkpoint that fails to load to the newest one that loads.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeSafetensors, type F32Tensor } from "../util/safetensors.js";
import { assertFiniteParams, firstNonFinite } from "./finite-params.js";
import type { PolicyTrainer } from "./trainer.js";
import { FileError } from "../util/file-error.js";

const FORMAT = 1;
const STATE_FILE = "state.safetensors";
const META_FILE = "checkpoint.json";

/** The JSON beside the tensors. */
export interface CheckpointMeta<T> {
  format: number;
  step: number;
  /** What the caller saved: resolved config, RNG state, curriculum position… */
  extra: T;
}

/** A checkpoint that cannot be loaded: the file and what is wrong with it. */
export class CheckpointError extends FileError {
  override name = "CheckpointError";
}

/**
 * Save the trainer's parameters and optimizer state, plus `extra`, as directory `dir`.
 * Non-finite values are refused (NonFiniteTrainingError) so a diverged state never replaces a good checkpoint.
 */
export function saveCheckpoint<T>(dir: string, trainer: PolicyTrainer, extra: T): void {
  assertFiniteParams(trainer, `checkpoint ${dir} not written`);
  const { step, slots } = trainer.state();
  const names = Object.keys(trainer.params());
  const tensors = new Map<string, F32Tensor>();
  slots.forEach((s, i) => {
    const n = [s.param.length];
    tensors.set(`param:${names[i]}`, { shape: n, data: s.param });
    tensors.set(`m:${names[i]}`, { shape: n, data: s.m });
    tensors.set(`v:${names[i]}`, { shape: n, data: s.v });
  });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeSafetensors(join(tmp, STATE_FILE), tensors);
  const meta: CheckpointMeta<T> = { format: FORMAT, step, extra };
  writeFileSync(join(tmp, META_FILE), JSON.stringify(meta, null, 2));
  // Replace an older checkpoint of the same name only once the new one is complete; the old one
  // is moved aside first, so some complete checkpoint exists at every moment.
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** The directory holding the complete checkpoint named `dir` (its moved-aside copy after a crash mid-replace). */
export function resolveCheckpointDir(dir: string): string {
  return !existsSync(join(dir, META_FILE)) && existsSync(join(`${dir}.old`, META_FILE)) ? `${dir}.old` : dir;
}

/**
 * Load a checkpoint into `trainer` (bit-exact) and return its caller state. Throws
 * CheckpointError naming the file and the problem (corrupt JSON, truncated or missing tensors,
 * wrong sizes, NaN or infinite values); the trainer is changed only when everything checks out.
 */
export function loadCheckpoint<T>(name: string, trainer: PolicyTrainer): CheckpointMeta<T> {
  return loadCheckpointDir<T>(resolveCheckpointDir(name), trainer);
}

/** A checkpoint `loadLatestGoodCheckpoint` passed over, and why. */
export interface SkippedCheckpoint {
  dir: string;
  error: string;
}

/** The checkpoint resume continues from, and the newer ones that failed to load. */
export interface LoadedCheckpoint<T> {
  meta: CheckpointMeta<T>;
  /** The directory loaded (a `step-N.old` copy when step-N itself failed). */
  dir: string;
  /** Newer checkpoints that failed to load, newest first: report them. */
  skipped: SkippedCheckpoint[];
}

/**
 * Load the newest of `store`'s checkpoints that loads cleanly into `trainer` (and passes
 * `checkExtra`, which throws on a bad caller state). Null when there is no checkpoint at all;
 * a CheckpointError listing every failure when there are some but none loads, so a run is never
 * silently restarted from scratch.
 */
export function loadLatestGoodCheckpoint<T>(
  store: { checkpointCandidates(): string[] },
  trainer: PolicyTrainer,
  checkExtra: (extra: unknown) => void = () => undefined,
): LoadedCheckpoint<T> | null {
  const candidates = store.checkpointCandidates();
  const skipped: SkippedCheckpoint[] = [];
  for (const dir of candidates) {
    try {
      // Check the caller's state before the trainer is touched: a failure leaves it as it was.
      const meta = loadCheckpointDir<T>(dir, trainer, (m) => {
        try {
          checkExtra(m.extra);
        } catch (e) {
          throw new CheckpointError(join(dir, META_FILE), `bad caller state: ${(e as Error).message}`);
        }
      });
      return { meta, dir, skipped };
    } catch (e) {
      skipped.push({ dir, error: (e as Error).message });
    }
  }
  if (candidates.length === 0) return null;
  throw new CheckpointError(candidates[0]!, `no checkpoint of this run loads:\n${skipped.map((s) => `  ${s.error}`).join("\n")}`);
}

function loadCheckpointDir<T>(dir: string, trainer: PolicyTrainer, checkMeta: (meta: CheckpointMeta<T>) => void = () => undefined): CheckpointMeta<T> {
  const metaPath = join(dir, META_FILE);
  const statePath = join(dir, STATE_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(metaPath, "utf8"));
  } catch (e) {
    const err = e as Error;
    throw new CheckpointError(metaPath, err instanceof SyntaxError ? `is not valid JSON (${err.message})` : `cannot read: ${err.message}`);
  }
  const meta = raw as CheckpointMeta<T>;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CheckpointError(metaPath, "expected a JSON object");
  if (meta.format !== FORMAT) throw new CheckpointError(metaPath, `checkpoint format ${String(meta.format)}, expected ${FORMAT}`);
  if (!Number.isInteger(meta.step) || meta.step < 0) throw new CheckpointError(metaPath, `step should be a whole number ≥ 0, found ${String(meta.step)}`);
  checkMeta(meta);
  let tensors: Map<string, F32Tensor>;
  try {
    ({ tensors } = readSafetensors(statePath));
  } catch (e) {
    // SafetensorsError messages already start with the path.
    const message = (e as Error).message;
    throw new CheckpointError(statePath, message.startsWith(`${statePath}: `) ? message.slice(statePath.length + 2) : message);
  }
  const values = new Map<string, { param: Float32Array; m: Float32Array; v: Float32Array }>();
  for (const [name, current] of Object.entries(trainer.params())) {
    const get = (k: "param" | "m" | "v"): Float32Array => {
      const t = tensors.get(`${k}:${name}`);
      if (!t) throw new CheckpointError(statePath, `missing tensor ${k}:${name}`);
      if (t.data.length !== current.length) throw new CheckpointError(statePath, `${k}:${name} has ${t.data.length} values; this model's parameter has ${current.length}`);
      const bad = firstNonFinite(t.data);
      if (bad >= 0) throw new CheckpointError(statePath, `${k}:${name} holds ${t.data[bad]} at element ${bad}; expected finite values (the run had diverged when it was saved)`);
      return t.data;
    };
    const entry = { param: get("param"), m: get("m"), v: get("v") };
    // AdamW's second moment is a running mean of squares: a negative one would make its square root NaN.
    const negative = entry.v.findIndex((x) => x < 0);
    if (negative >= 0) throw new CheckpointError(statePath, `v:${name} is ${entry.v[negative]} at element ${negative}; a second moment cannot be negative`);
    values.set(name, entry);
  }
  trainer.restore(meta.step, values);
  return meta;
}
