import { readFileSync, writeFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeModelGguf } from "../model/model-file.js";
import { makeTinyModel } from "../model/tiny-model.js";
import { useTempDir } from "../testing/temp-dir.js";
import { GgmlType, GgufValueType as T } from "./constants.js";
import { GgufError } from "./errors.js";
import { readGguf, type GgufFile } from "./reader.js";
import { readTensorF32 } from "./tensors.js";

const tmp = useTempDir();
const goodPath = tmp.path("good.gguf");
writeModelGguf(goodPath, makeTinyModel({ arch: "qwen3", layers: 1, dim: 32, heads: 2, kvHeads: 1, ffn: 32, seed: 3 }), "Q8_0");
const good = readFileSync(goodPath);
const goodFile = readGguf(goodPath);
const lastTensorEnd = Math.max(...goodFile.tensors.map((t) => goodFile.dataOffset + t.offset + t.byteSize));

/** Parse and decode everything; returns the file or the error thrown. */
function readAll(bytes: Uint8Array, name: string): GgufFile | unknown {
  const path = tmp.path(name);
  writeFileSync(path, bytes);
  try {
    const file = readGguf(path);
    for (const t of file.tensors) readTensorF32(file, t.name);
    return file;
  } catch (e) {
    return e;
  }
}

/** A hand-assembled GGUF byte string, so corrupt headers can be built field by field. */
class Bytes {
  private parts: Buffer[] = [];
  u32(x: number): this { const b = Buffer.alloc(4); b.writeUInt32LE(x); this.parts.push(b); return this; }
  u64(x: bigint | number): this { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(x)); this.parts.push(b); return this; }
  str(s: string): this { this.u64(Buffer.byteLength(s)); this.parts.push(Buffer.from(s)); return this; }
  raw(b: Uint8Array): this { this.parts.push(Buffer.from(b)); return this; }
  done(): Buffer { return Buffer.concat(this.parts); }
}
const header = (tensors: number | bigint, kvs: number | bigint): Bytes => new Bytes().u32(0x46554747).u32(3).u64(tensors).u64(kvs);

function expectGgufError(result: unknown, pattern: RegExp): void {
  expect(result).toBeInstanceOf(GgufError);
  expect((result as GgufError).message).toMatch(pattern);
  expect((result as GgufError).file).toContain(tmp.root);
}

describe("bad GGUF files give a GgufError naming the file and the problem", () => {
  it("wrong magic, unsupported version, empty file", () => {
    expectGgufError(readAll(Buffer.from("PK\x03\x04 not a model"), "zip.gguf"), /not a GGUF file: expected magic "GGUF", found "PK\\u0003\\u0004"/);
    expectGgufError(readAll(new Bytes().u32(0x46554747).u32(4).u64(0).u64(0).done(), "v4.gguf"), /unsupported GGUF version 4/);
    expectGgufError(readAll(new Uint8Array(0), "empty.gguf"), /shorter than the magic/);
  });

  it("impossible counts and lengths are refused before allocating", () => {
    expectGgufError(readAll(header(2n ** 62n, 0).done(), "tensors.gguf"), /larger than any file|claims/);
    expectGgufError(readAll(header(0, 2n ** 40n).done(), "kvs.gguf"), /claims 1099511627776 metadata entries/);
    expectGgufError(readAll(header(0, 1).u64(2n ** 50n).raw(new Uint8Array(16)).done(), "keylen.gguf"), /metadata key #0 claims 1125899906842624 bytes/);
    const hugeArray = header(0, 1).str("a").u32(T.ARRAY).u32(T.UINT32).u64(2n ** 40n).raw(new Uint8Array(8)).done();
    expectGgufError(readAll(hugeArray, "array.gguf"), /a claims 1099511627776 items/);
    const hugeTensor = header(1, 0).str("w").u32(2).u64(2n ** 30n).u64(2n ** 30n).u32(GgmlType.F32).u64(0).done();
    expectGgufError(readAll(hugeTensor, "dims.gguf"), /more than the file could hold/);
  });

  it("unknown value and tensor types, bad UTF-8, bad bool, bad alignment", () => {
    expectGgufError(readAll(header(0, 1).str("k").u32(99).raw(new Uint8Array(8)).done(), "vt.gguf"), /k: unknown value type 99/);
    const tensorType = header(1, 0).str("w").u32(1).u64(32).u32(200).u64(0).raw(new Uint8Array(160)).done();
    expectGgufError(readAll(tensorType, "tt.gguf"), /tensor w has unknown ggml type 200/);
    expectGgufError(readAll(header(0, 1).u64(2).raw(Uint8Array.from([0xc3, 0x28])).u32(T.UINT8).raw(new Uint8Array(8)).done(), "utf8.gguf"), /not valid UTF-8/);
    expectGgufError(readAll(header(0, 1).str("b").u32(T.BOOL).raw(Uint8Array.from([7])).raw(new Uint8Array(12)).done(), "bool.gguf"), /a bool must be 0 or 1, found 7/);
    expectGgufError(readAll(header(0, 1).str("general.alignment").u32(T.UINT32).u32(48).raw(new Uint8Array(8)).done(), "align.gguf"), /power of two, found 48/);
    const misaligned = header(1, 0).str("w").u32(1).u64(4).u32(GgmlType.F32).u64(3).raw(new Uint8Array(64)).done();
    expectGgufError(readAll(misaligned, "offset.gguf"), /data offset 3 is not aligned to 32/);
    const rank = header(1, 0).str("w").u32(5).raw(new Uint8Array(64)).done();
    expectGgufError(readAll(rank, "rank.gguf"), /rank 5; expected 1..4/);
  });

  it("a file cut anywhere fails with 'truncated' unless only trailing padding was lost", () => {
    const cuts = [...Array.from({ length: goodFile.dataOffset + 64 }, (_, i) => i), ...Array.from({ length: 200 }, (_, i) => Math.floor(((i + 0.5) / 200) * good.length))];
    for (const cut of cuts) {
      const result = readAll(good.subarray(0, cut), "cut.gguf");
      if (cut >= lastTensorEnd) continue;
      expect(result, `cut at ${cut}`).toBeInstanceOf(GgufError);
      expect((result as Error).message, `cut at ${cut}`).toMatch(/truncated|shorter than the magic|corrupt/);
    }
  });

  it("random bit flips anywhere yield a GgufError or a readable file, never another exception", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(7)), { minLength: 1, maxLength: 4 }), fc.boolean(), (flips, inHeader) => {
        const bytes = Uint8Array.from(good);
        for (const [pos, bit] of flips) {
          const at = inHeader ? pos % goodFile.dataOffset : pos;
          bytes[at]! ^= 1 << bit;
        }
        const result = readAll(bytes, "flip.gguf");
        if (result instanceof Error) expect(result).toBeInstanceOf(GgufError);
      }),
      { numRuns: 400, seed: 42 },
    );
  });
});
