// Importing a user's dataset: read records, map them to rows with a preset or a mapping, validate
// each, and report every invalid record with its line. The source file is never written.
import { TaskRowSchema, type TaskRow } from "../task-row.js";
import { detectPreset, mapperFor, PRESETS, type FieldMapping } from "./field-mapping.js";
import { DatasetFileError, readRecords } from "./read-records.js";

/** A record that could not become a row. */
export interface RowError {
  line: number;
  message: string;
}

export interface ImportResult {
  rows: TaskRow[];
  errors: RowError[];
  /** The preset used ("custom" for a mapping). */
  preset: string;
  /** Records read (valid or not). */
  records: number;
}

/** How to map: a preset by name, a custom mapping, or detection from the first record. */
export type MappingChoice = { preset: string } | { mapping: FieldMapping } | "detect";

/** Import `path`. Throws DatasetFileError for unreadable files; per-record problems land in `errors`. */
export async function importDataset(path: string, choice: MappingChoice = "detect"): Promise<ImportResult> {
  const records = await readRecords(path);
  if (records.length === 0) throw new DatasetFileError(path, null, "the file has no records");
  let presetName: string;
  let map;
  if (choice === "detect") {
    const preset = detectPreset(records[0]!.value);
    if (!preset) throw new DatasetFileError(path, records[0]!.line, `no preset recognises these fields (${Object.keys(records[0]!.value).join(", ")}); give a field mapping`);
    presetName = preset.name;
    map = await preset.prepare(path);
  } else if ("preset" in choice) {
    const preset = PRESETS[choice.preset];
    if (!preset) throw new Error(`unknown preset "${choice.preset}" (known: ${Object.keys(PRESETS).join(", ")})`);
    presetName = preset.name;
    map = await preset.prepare(path);
  } else {
    presetName = "custom";
    map = mapperFor(choice.mapping);
  }
  const rows: TaskRow[] = [];
  const errors: RowError[] = [];
  const ids = new Set<string>();
  for (const [i, record] of records.entries()) {
    try {
      const mapped = map(record.value);
      const parsed = TaskRowSchema.safeParse({ id: mapped.id ?? `row-${i + 1}`, ...mapped, ...(mapped.id ? {} : {}) });
      if (!parsed.success) throw new Error(parsed.error.issues.map((x) => `${x.path.join(".") || "row"}: ${x.message}`).join("; "));
      if (ids.has(parsed.data.id)) throw new Error(`duplicate id "${parsed.data.id}"`);
      ids.add(parsed.data.id);
      rows.push(parsed.data);
    } catch (e) {
      errors.push({ line: record.line, message: (e as Error).message });
    }
  }
  return { rows, errors, preset: presetName, records: records.length };
}
