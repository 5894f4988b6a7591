import { createWriteStream, writeFileSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { gzipSync, createGzip } from "node:zlib";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../../testing/temp-dir.js";
import { DatasetFileError, readRecords } from "./read-records.js";

const tmp = useTempDir();

/** A gzip file of `bytes` bytes of JSONL lines, written as a stream (never held whole). */
async function gzipBomb(name: string, bytes: number): Promise<string> {
  const line = Buffer.from('{"prompt":"x","answer":"1"}\n'.padStart(64, " "));
  const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line)); // 64 KiB
  let left = bytes;
  const source = Readable.from((function* () {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      yield chunk.subarray(0, n);
    }
  })());
  await pipeline(source, createGzip({ level: 1 }), createWriteStream(tmp.path(name)));
  return tmp.path(name);
}

async function rejection(p: Promise<unknown>): Promise<DatasetFileError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e, "the file was read").toBeInstanceOf(DatasetFileError);
  return e as DatasetFileError;
}

describe("readRecords caps what a file may expand to", () => {
  it("refuses a gzip bomb once its output passes the cap, naming the file", async () => {
    const path = await gzipBomb("bomb.jsonl.gz", 32 << 20);
    const e = await rejection(readRecords(path, { maxBytes: 4 << 20 }));
    expect(e.file).toBe(path);
    expect(e.message).toMatch(/^.*bomb\.jsonl\.gz: decompresses to more than 4 MiB \(from \d+(\.\d+)? (KiB|MiB|bytes) compressed\); the limit is 4 MiB$/);
  });

  it("reads a gzipped file under the cap, and refuses a plain file over it by its size", async () => {
    const path = await gzipBomb("fine.jsonl.gz", 1 << 20);
    expect(await readRecords(path, { maxBytes: 2 << 20 })).toHaveLength((1 << 20) / 64);
    writeFileSync(tmp.path("big.jsonl"), Buffer.alloc(3 << 20, "\n"));
    const e = await rejection(readRecords(tmp.path("big.jsonl"), { maxBytes: 2 << 20 }));
    expect(e.message).toBe(`${tmp.path("big.jsonl")}: the file is 3 MiB; the limit is 2 MiB`);
  });

  it("names the file of a corrupt or truncated gzip stream", async () => {
    const whole = gzipSync(Buffer.from('{"a":1}\n'.repeat(1000)));
    writeFileSync(tmp.path("cut.jsonl.gz"), whole.subarray(0, whole.length - 20));
    expect((await rejection(readRecords(tmp.path("cut.jsonl.gz")))).message).toMatch(/cut\.jsonl\.gz: cannot read \(gzip\): unexpected end of file/);
    writeFileSync(tmp.path("notgz.csv.gz"), "q,a\n1,2\n");
    expect((await rejection(readRecords(tmp.path("notgz.csv.gz")))).message).toMatch(/notgz\.csv\.gz: cannot read \(gzip\): incorrect header check/);
  });
});
