// What the workbench knows about a run beyond its training config, in `workbench.json` beside
// run.json: the name the user gave it, the model and dataset as the user knows them (registry
// names, not file paths), which evaluation set it measures on, and the preset it started from.
// Kept apart from run.json, which the training loop owns and rewrites every step.
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonOrNull } from "../util/read-json.js";

export const RUN_META_FILE = "workbench.json";

export const EvalChoiceRecord = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({ kind: z.literal("dataset"), id: z.string().nullable(), name: z.string(), rows: z.number().int().min(0) }),
  z.object({ kind: z.literal("holdout"), percent: z.number(), rows: z.number().int().min(0) }),
]);
export type EvalChoiceRecord = z.infer<typeof EvalChoiceRecord>;

export const RunMetaSchema = z.object({
  name: z.string().min(1),
  model: z.object({ id: z.string().nullable(), name: z.string() }),
  dataset: z.object({ id: z.string().nullable(), name: z.string() }),
  eval: EvalChoiceRecord,
  preset: z.enum(["workbench", "paper"]),
  /** The scheduler the run started with (run.json keeps only the current one). */
  scheduler: z.string(),
  /** The folder of a held-out split made for this run (deleted with the run). */
  splitDir: z.string().nullable(),
});
export type RunMeta = z.infer<typeof RunMetaSchema>;

/** A run's workbench.json, or null when it has none (a run made by `metis train`) or it cannot be read. */
export function readRunMeta(runDir: string): RunMeta | null {
  return readJsonOrNull(join(runDir, RUN_META_FILE), RunMetaSchema);
}

/** Write a run's workbench.json atomically (temporary file, then rename). */
export function writeRunMeta(runDir: string, meta: RunMeta): void {
  const path = join(runDir, RUN_META_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(RunMetaSchema.parse(meta), null, 2) + "\n");
  renameSync(tmp, path);
}
