// Which host files the renderer may make the engine read. A path from the renderer is honoured
// only when the user chose that file (the host grants it when a native dialog returns it or a
// file is dropped) or when it lies under the user-data folder (uploads land there). Before,
// `datasets.preview` with any path returned the contents of files anywhere on the disk.
import { realpathSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";

/** A path the renderer named that the user did not choose. */
export class FileNotGrantedError extends Error {
  constructor(readonly path: string) {
    super(`${path}: not a file you chose; drop it, pick it with the file dialog, or upload it`);
    this.name = "FileNotGrantedError";
  }
}

/** The files one engine may read on the renderer's word. */
export class FileAccess {
  private readonly granted = new Set<string>();
  private readonly root: string;

  constructor(userData: string) {
    this.root = realpathSync(userData);
  }

  /** Record that the user chose `path` (host side: native dialog or drop; never a renderer command). */
  grant(path: string): void {
    const real = realOrNull(path);
    if (real) this.granted.add(real);
  }

  /** The real path of a file the renderer may have read; throws FileNotGrantedError otherwise (naming the path, reading nothing). */
  check(path: string): string {
    const real = realOrNull(path);
    if (real === null) throw new FileNotGrantedError(path);
    if (!this.granted.has(real) && !real.startsWith(this.root + sep)) throw new FileNotGrantedError(path);
    if (!statSync(real).isFile()) throw new Error(`${path}: not a file`);
    return real;
  }
}

function realOrNull(path: string): string | null {
  try {
    // Symlinks resolved: a link under user-data to /etc/passwd is /etc/passwd.
    return realpathSync(resolve(path));
  } catch {
    return null;
  }
}

/**
 * An error message with any quoted text removed. File readers quote what they found (`found
 * "root"`, JSON.parse's `"root:x:0:0"... is not valid JSON`), which echoed a file's bytes to the
 * renderer; the file's own path, when given, is kept.
 */
export function quoteFree(message: string, path?: string): string {
  const keep = path ?? "\u0000";
  return message
    .split(keep)
    .map((part) => part.replace(/"[^"\n]*"(\.\.\.)?|'[^'\n]*'|`[^`\n]*`/g, "(…)"))
    .join(keep);
}
