// The built-in datasets: train and held-out test splits of every synthetic family, as JSONL rows.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatasetFileError, readJsonl } from "./import/read-records.js";
import { TaskRowSchema, type TaskRow } from "./task-row.js";
import { generateSuite, withoutPrompts } from "./tasks/suite.js";

export const TRAIN_FILE = "synthetic-train.jsonl";
export const TEST_FILE = "synthetic-test.jsonl";

/** Generate both splits (test first, so train excludes its prompts). */
export function makeDefaultDatasets(seed = 7): { train: TaskRow[]; test: TaskRow[] } {
  const test = generateSuite(seed, 8, "test");
  const dedupedTest = test.filter((r, i) => test.findIndex((x) => x.prompt === r.prompt) === i);
  const held = new Set(dedupedTest.map((r) => r.prompt));
  const train = withoutPrompts(generateSuite(seed + 1, 40, "train"), held);
  return { train, test: dedupedTest };
}

/** Write both splits to `dir` as JSONL. */
export function writeDefaultDatasets(dir: string, seed = 7): { train: string; test: string } {
  mkdirSync(dir, { recursive: true });
  const { train, test } = makeDefaultDatasets(seed);
  const write = (name: string, rows: TaskRow[]): string => {
    const path = join(dir, name);
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    return path;
  };
  return { train: write(TRAIN_FILE, train), test: write(TEST_FILE, test) };
}

/** Read a JSONL file of task rows; errors name the file and line. */
export function readTaskRows(path: string): TaskRow[] {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  return readJsonl(path, readFileSync(path, "utf8")).map(({ line, value }) => {
    const parsed = TaskRowSchema.safeParse(value);
    if (!parsed.success) throw new DatasetFileError(path, line, parsed.error.issues.map((x) => `${x.path.join(".") || "row"}: ${x.message}`).join("; "));
    return parsed.data;
  });
}
