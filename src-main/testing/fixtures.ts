// Paths of the dataset samples shipped with the tests (see fixtures/README.md).
import { fileURLToPath } from "node:url";

/** Absolute path of `relative` under src-main/testing/fixtures/. */
export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(`./fixtures/${relative}`, import.meta.url));
}
