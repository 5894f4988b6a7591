// Importing a user's dataset: read records, map them to rows with a preset or a mapping, validate
// each, and report every invalid record or unreadable line with its line (the rest is imported).
// The source file is never written.
import { TaskRowSchema, type TaskRow } from "../task-row.js";
import { detectPreset, mapperFor, PRESETS, type FieldMapping } from "./field-mapping.js";
import { DatasetFileError, readRecordsSkippingBad } from "./read-records.js";

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

/** No preset recognises a file's records: the caller offers a field mapping over `fields`. */
export class UnrecognisedFieldsError extends DatasetFileError {
  override name = "UnrecognisedFieldsError";
  constructor(
    file: string,
    line: number,
    /** The first record's fields, for a mapping editor. */
    readonly fields: string[],
    /** Records read (valid or not). */
    readonly records: number,
  ) {
    super(file, line, `no preset recognises these fields (${fields.join(", ") || "none"}); give a field mapping`);
  }
}

/** Files read beside the dataset: BFCL's ground truth (`answers`), when not the sibling `<name>.answer.json`. */
export interface Companions {
  answers?: string;
}

/** Import `path`. Throws DatasetFileError for unreadable files; per-record and per-line problems land in `errors`. */
export async function importDataset(path: string, choice: MappingChoice = "detect", companions: Companions = {}): Promise<ImportResult> {
  const { records, badLines } = await readRecordsSkippingBad(path);
  if (records.length === 0) {
    const first = badLines[0];
    throw new DatasetFileError(path, first?.line ?? null, first ? `no readable records (${badLines.length} bad lines; first: ${first.message})` : "the file has no records");
  }
  let presetName: string;
  let map;
  if (choice === "detect") {
    const preset = detectPreset(records[0]!.value);
    if (!preset) throw new UnrecognisedFieldsError(path, records[0]!.line, Object.keys(records[0]!.value), records.length + badLines.length);
    presetName = preset.name;
    map = await preset.prepare(path, companions);
  } else if ("preset" in choice) {
    const preset = PRESETS[choice.preset];
    if (!preset) throw new Error(`unknown preset "${choice.preset}" (known: ${Object.keys(PRESETS).join(", ")})`);
    presetName = preset.name;
    map = await preset.prepare(path, companions);
  } else {
    presetName = "custom";
    map = mapperFor(choice.mapping);
  }
  const rows: TaskRow[] = [];
  const errors: RowError[] = [...badLines];
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
  errors.sort((a, b) => a.line - b.line);
  return { rows, errors, preset: presetName, records: records.length + badLines.length };
}
