// Uploads from a browser, written to user-data/uploads chunk by chunk: the engine holds at most
// one chunk in memory, never the whole file (a 400 MB upload as one base64 message peaked at
// 2.35 GB). Partial files are deleted on cancel, on a bad chunk, after an idle timeout and at
// start-up; a finished upload is taken once by the command that uses it.
import { randomUUID } from "node:crypto";
import { readdirSync, renameSync, rmSync, statfsSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { MAX_UPLOAD_BYTES, UPLOAD_CHUNK_BYTES } from "../protocol/protocol.js";

/** An upload this engine does not know (never begun, finished, cancelled or timed out). */
export class UnknownUploadError extends Error {
  constructor(readonly uploadId: string) {
    super(`unknown upload ${uploadId} (it was never begun, was cancelled, or timed out)`);
    this.name = "UnknownUploadError";
  }
}

interface Partial {
  name: string;
  size: number;
  received: number;
  path: string;
  file: FileHandle;
  /** Serialises chunk writes: a chunk must land before the next is checked. */
  busy: boolean;
  timer: NodeJS.Timeout;
}

const PARTIAL = ".partial";

/** The uploads folder of one engine. */
export class Uploads {
  private readonly partial = new Map<string, Partial>();
  private readonly finished = new Map<string, { name: string; path: string; timer: NodeJS.Timeout }>();

  /** `dir` is user-data/uploads; leftovers of a previous session's partial uploads are deleted. */
  constructor(
    readonly dir: string,
    private readonly idleMs = 5 * 60_000,
  ) {
    for (const f of readdirSync(dir)) if (f.endsWith(PARTIAL)) rmSync(join(dir, f), { force: true });
  }

  /** Start an upload of `size` bytes; refused before any byte arrives when it is too big for the limit or the disk. */
  async begin(name: string, size: number): Promise<{ uploadId: string; chunkBytes: number }> {
    if (size > MAX_UPLOAD_BYTES) throw new Error(`${name}: ${size} bytes is over the upload limit of ${MAX_UPLOAD_BYTES} bytes`);
    const free = diskFree(this.dir);
    if (free !== null && size > free) throw new Error(`${name}: ${size} bytes do not fit on the disk (${free} bytes free)`);
    const uploadId = randomUUID();
    const safe = basename(name).replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 120) || "upload";
    const path = join(this.dir, `${uploadId}-${safe}`);
    const file = await open(path + PARTIAL, "wx");
    this.partial.set(uploadId, { name, size, received: 0, path, file, busy: false, timer: this.idleTimer(uploadId) });
    return { uploadId, chunkBytes: UPLOAD_CHUNK_BYTES };
  }

  /** Append one chunk at `offset` (chunks come in order); a chunk past the declared size ends the upload. */
  async chunk(uploadId: string, offset: number, contentBase64: string): Promise<{ received: number }> {
    const u = this.partial.get(uploadId);
    if (!u) throw new UnknownUploadError(uploadId);
    if (u.busy) throw new Error(`${u.name}: chunks must be sent one after the other`);
    if (offset !== u.received) throw new Error(`${u.name}: expected the chunk at offset ${u.received}, found one at ${offset}`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(contentBase64) || contentBase64.length % 4 !== 0) throw new Error(`${u.name}: a chunk is not base64`);
    const bytes = Buffer.from(contentBase64, "base64");
    if (u.received + bytes.length > u.size) {
      await this.cancel(uploadId);
      throw new Error(`${u.name}: more bytes than the ${u.size} announced; the upload was discarded`);
    }
    u.busy = true;
    try {
      await u.file.write(bytes, 0, bytes.length, offset);
    } catch (e) {
      await this.cancel(uploadId);
      throw new Error(`${u.name}: writing the upload failed (${(e as NodeJS.ErrnoException).code ?? "error"}); it was discarded`, { cause: e });
    } finally {
      u.busy = false;
    }
    u.received += bytes.length;
    u.timer.refresh();
    return { received: u.received };
  }

  /** Close a complete upload; it can then be taken once. */
  async finish(uploadId: string): Promise<{ uploadId: string; size: number }> {
    const u = this.partial.get(uploadId);
    if (!u) throw new UnknownUploadError(uploadId);
    if (u.received !== u.size) throw new Error(`${u.name}: ${u.received} of ${u.size} bytes received; send the rest before finishing`);
    this.partial.delete(uploadId);
    clearTimeout(u.timer);
    await u.file.close();
    renameSync(u.path + PARTIAL, u.path);
    this.finished.set(uploadId, { name: u.name, path: u.path, timer: this.idleTimer(uploadId) });
    return { uploadId, size: u.size };
  }

  /** Drop an upload, partial or finished, and delete its file. */
  async cancel(uploadId: string): Promise<void> {
    const u = this.partial.get(uploadId);
    if (u) {
      this.partial.delete(uploadId);
      clearTimeout(u.timer);
      await u.file.close().catch(() => undefined);
      rmSync(u.path + PARTIAL, { force: true });
    }
    const f = this.finished.get(uploadId);
    if (f) {
      this.finished.delete(uploadId);
      clearTimeout(f.timer);
      rmSync(f.path, { force: true });
    }
  }

  /** The file of a finished upload, handed over once: the caller keeps or deletes it. */
  take(uploadId: string): { name: string; path: string } {
    const f = this.finished.get(uploadId);
    if (!f) throw new UnknownUploadError(uploadId);
    this.finished.delete(uploadId);
    clearTimeout(f.timer);
    return { name: f.name, path: f.path };
  }

  /** Delete every partial upload (engine shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.partial.keys()].map((id) => this.cancel(id)));
    await Promise.all([...this.finished.keys()].map((id) => this.cancel(id)));
  }

  private idleTimer(uploadId: string): NodeJS.Timeout {
    // An abandoned upload (closed tab, dropped connection) must not stay on disk.
    const t = setTimeout(() => void this.cancel(uploadId), this.idleMs);
    t.unref();
    return t;
  }
}

function diskFree(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
