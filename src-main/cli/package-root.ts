// Where the package is installed: the built-in model, datasets and the renderer are found from
// here, whatever folder the command runs in.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the nearest folder above this module holding package.json (built or from source). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the package root (package.json)");
    dir = up;
  }
  return dir;
}
