// What the run files share: the error naming a file that cannot be used, reading a lowdb document
// with that error, and the words for what was found instead of what was expected.
import { statSync } from "node:fs";
import type { Low } from "lowdb";
import { FileError } from "../util/file-error.js";

/** A run file that cannot be used: the file and what is wrong with it. */
export class RunFileError extends FileError {
  override name = "RunFileError";
}

/** Read a lowdb document; a file that is not JSON is a RunFileError naming it. */
export async function readDocument<T>(doc: Low<T>, path: string): Promise<void> {
  try {
    await doc.read();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof SyntaxError) {
      const empty = statSync(path).size === 0;
      throw new RunFileError(path, empty ? "is empty (expected a JSON object; the file was cut short)" : `is not valid JSON (${err.message})`);
    }
    throw new RunFileError(path, `cannot read: ${err.message}`);
  }
}

/** How a found value is named in an error: "null", "an array", "number -1"… */
export function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return "a string";
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
