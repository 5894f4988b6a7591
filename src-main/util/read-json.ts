// Small JSON side files (a run's workbench.json, compare.json): read leniently, validated.
import { existsSync, readFileSync } from "node:fs";
import type { z } from "zod";

/** The file at `path` parsed and checked by `schema`, or null when it is absent, not JSON or not valid. */
export function readJsonOrNull<T>(path: string, schema: z.ZodType<T>): T | null {
  if (!existsSync(path)) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
