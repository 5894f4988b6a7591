// Training checkpoints: trainable weights, AdamW moments, step and caller state (config, RNG),
// written to a temporary directory and renamed, so a crash leaves the previous one intact.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeSafetensors, type F32Tensor } from "../util/safetensors.js";
import type { Trainer } from "./trainer.js";

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

/** Save the trainer's parameters and optimizer state, plus `extra`, as directory `dir`. */
export function saveCheckpoint<T>(dir: string, trainer: Trainer, extra: T): void {
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

/** Load a checkpoint into `trainer` (bit-exact) and return its caller state. */
export function loadCheckpoint<T>(name: string, trainer: Trainer): CheckpointMeta<T> {
  const dir = resolveCheckpointDir(name);
  let meta: CheckpointMeta<T>;
  try {
    meta = JSON.parse(readFileSync(join(dir, META_FILE), "utf8")) as CheckpointMeta<T>;
  } catch (e) {
    throw new Error(`${join(dir, META_FILE)}: cannot read the checkpoint: ${(e as Error).message}`, { cause: e });
  }
  if (meta.format !== FORMAT) throw new Error(`${join(dir, META_FILE)}: checkpoint format ${meta.format}, expected ${FORMAT}`);
  const { tensors } = readSafetensors(join(dir, STATE_FILE));
  const values = new Map<string, { param: Float32Array; m: Float32Array; v: Float32Array }>();
  for (const name of Object.keys(trainer.params())) {
    const get = (k: string): Float32Array => {
      const t = tensors.get(`${k}:${name}`);
      if (!t) throw new Error(`${join(dir, STATE_FILE)}: missing ${k}:${name}`);
      return t.data;
    };
    values.set(name, { param: get("param"), m: get("m"), v: get("v") });
  }
  trainer.restore(meta.step, values);
  return meta;
}
