// Temporary directories for tests, removed when the test file finishes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** A fresh directory under the OS temp dir, deleted after the calling test file's tests. */
export function useTempDir(prefix = "metis-test-"): { path: (name: string) => string; root: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return { root, path: (name: string) => join(root, name) };
}
