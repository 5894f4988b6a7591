import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../testing/temp-dir.js";
import { GgmlType, GgufValueType as T } from "./constants.js";
import { dequantize } from "./dequantize.js";
import { GgufError } from "./errors.js";
import { readGguf, readTensorBytes } from "./reader.js";
import { readTensorF32 } from "./tensors.js";
import type { GgufKv } from "./types.js";
import { GgufWriter } from "./writer.js";

const tmp = useTempDir();

const EVERY_VALUE_TYPE: Record<string, GgufKv> = {
  "t.u8": { type: T.UINT8, value: 255 },
  "t.i8": { type: T.INT8, value: -128 },
  "t.u16": { type: T.UINT16, value: 65535 },
  "t.i16": { type: T.INT16, value: -32768 },
  "t.u32": { type: T.UINT32, value: 4294967295 },
  "t.i32": { type: T.INT32, value: -2147483648 },
  "t.f32": { type: T.FLOAT32, value: 0.25 },
  "t.bool": { type: T.BOOL, value: true },
  "t.str": { type: T.STRING, value: "héllo ▁wörld 🙂" },
  "t.u64": { type: T.UINT64, value: 2n ** 64n - 1n },
  "t.i64": { type: T.INT64, value: -(2n ** 63n) },
  "t.f64": { type: T.FLOAT64, value: Math.PI },
  "t.arr.str": { type: T.ARRAY, itemType: T.STRING, value: ["a", "", "ü"] },
  "t.arr.i32": { type: T.ARRAY, itemType: T.INT32, value: [1, -2, 3] },
  "t.arr.f32": { type: T.ARRAY, itemType: T.FLOAT32, value: [0.5, -1.5] },
  "t.arr.bool": { type: T.ARRAY, itemType: T.BOOL, value: [true, false] },
  "t.arr.u64": { type: T.ARRAY, itemType: T.UINT64, value: [0n, 7n] },
  "t.arr.empty": { type: T.ARRAY, itemType: T.UINT8, value: [] },
};

function ramp(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);
}

describe("GGUF write → read", () => {
  it("keeps every metadata value type", () => {
    const w = new GgufWriter(tmp.path("kv.gguf"));
    for (const [k, v] of Object.entries(EVERY_VALUE_TYPE)) w.addKv(k, v);
    w.write();
    const file = readGguf(tmp.path("kv.gguf"));
    expect(file.version).toBe(3);
    expect(Object.fromEntries(file.metadata)).toEqual(EVERY_VALUE_TYPE);
  });

  it("keeps metadata that outgrows the header buffer many times (a 150k-token vocabulary)", () => {
    // Strings of every length, so buffer growth lands on a length prefix as well as on text.
    const tokens = Array.from({ length: 150_000 }, (_, i) => "x".repeat(i % 13) + String(i));
    const w = new GgufWriter(tmp.path("big-kv.gguf"));
    w.addKv("tokenizer.ggml.tokens", { type: T.ARRAY, itemType: T.STRING, value: tokens });
    w.addKv("after", { type: T.UINT32, value: 7 });
    w.write();
    const file = readGguf(tmp.path("big-kv.gguf"));
    expect(file.metadata.get("tokenizer.ggml.tokens")!.value).toEqual(tokens);
    expect(file.metadata.get("after")!.value).toBe(7);
  });

  it("keeps tensors: names, shapes, types, offsets aligned, values", () => {
    const path = tmp.path("tensors.gguf");
    const f32 = ramp(3 * 5);
    const f16 = Float32Array.from([0, 1, -2, 0.5, 65504, -0.25, 1 / 1024, 3]);
    const bf16 = Float32Array.from([1, -2, 3.140625, 0.5]);
    const q8 = ramp(64, 3);
    new GgufWriter(path)
      .addKv("general.architecture", { type: T.STRING, value: "llama" })
      .addTensor("a.f32", [5, 3], f32, GgmlType.F32)
      .addTensor("b.f16", [8], f16, GgmlType.F16)
      .addTensor("c.bf16", [2, 2], bf16, GgmlType.BF16)
      .addTensor("d.q8_0", [32, 2], q8, GgmlType.Q8_0)
      .write();
    const file = readGguf(path);
    expect(file.tensors.map((t) => [t.name, t.dims, t.type])).toEqual([
      ["a.f32", [5, 3], GgmlType.F32],
      ["b.f16", [8], GgmlType.F16],
      ["c.bf16", [2, 2], GgmlType.BF16],
      ["d.q8_0", [32, 2], GgmlType.Q8_0],
    ]);
    for (const t of file.tensors) expect((file.dataOffset + t.offset) % 32).toBe(0);
    expect(readTensorF32(file, "a.f32")).toEqual(f32);
    expect(readTensorF32(file, "b.f16")).toEqual(f16);
    expect(readTensorF32(file, "c.bf16")).toEqual(bf16);
    // Q8_0 is lossy: within half a step (amax / 127 / 2), plus 127 × the f16 rounding of the step itself.
    const back = readTensorF32(file, "d.q8_0");
    for (let b = 0; b < 2; b++) {
      const block = q8.subarray(b * 32, b * 32 + 32);
      const step = Math.max(...block.map(Math.abs)) / 127;
      for (let j = 0; j < 32; j++) expect(Math.abs(back[b * 32 + j]! - block[j]!)).toBeLessThanOrEqual(step * (0.5 + 127 * 2 ** -11));
    }
  });

  it("re-encodes raw tensor bytes unchanged", () => {
    const src = readGguf(tmp.path("tensors.gguf"));
    const w = new GgufWriter(tmp.path("copy.gguf"));
    for (const [k, v] of src.metadata) w.addKv(k, v);
    for (const t of src.tensors) w.addRawTensor(t.name, t.dims, t.type, readTensorBytes(src, t));
    w.write();
    const copy = readGguf(tmp.path("copy.gguf"));
    for (const t of src.tensors) expect(readTensorBytes(copy, copy.tensors.find((x) => x.name === t.name)!)).toEqual(readTensorBytes(src, t));
  });

  it("honours a custom alignment", () => {
    new GgufWriter(tmp.path("align.gguf"), 64).addTensor("x", [3], Float32Array.from([1, 2, 3])).addTensor("y", [5], ramp(5)).write();
    const file = readGguf(tmp.path("align.gguf"));
    expect(file.alignment).toBe(64);
    expect(file.dataOffset % 64).toBe(0);
    expect(file.tensors[1]!.offset).toBe(64);
    expect(readTensorF32(file, "y")).toEqual(ramp(5));
  });
});

describe("GGUF writer state machine", () => {
  it("rejects duplicates, bad shapes, and use after write", () => {
    const w = new GgufWriter(tmp.path("w.gguf"));
    w.addKv("k", { type: T.UINT32, value: 1 });
    expect(() => w.addKv("k", { type: T.UINT32, value: 2 })).toThrow(/duplicate metadata key k/);
    w.addTensor("t", [2], Float32Array.from([1, 2]));
    expect(() => w.addTensor("t", [2], Float32Array.from([1, 2]))).toThrow(/duplicate tensor name t/);
    expect(() => w.addTensor("u", [3], Float32Array.from([1, 2]))).toThrow(/holds 3 values, found 2/);
    expect(() => w.addTensor("q", [16], ramp(16), GgmlType.Q8_0)).toThrow(/Q8_0 needs a multiple of 32 values, found 16/);
    w.write();
    expect(() => w.write()).toThrow(GgufError);
    expect(() => w.addTensor("late", [1], Float32Array.from([1]))).toThrow(/already written/);
  });

  it("leaves no file under the final name when writing fails", () => {
    const path = tmp.path("missing-dir/x.gguf");
    expect(() => new GgufWriter(path).addTensor("t", [1], Float32Array.from([1])).write()).toThrow(GgufError);
    expect(() => readGguf(path)).toThrow(/cannot open/);
  });
});

describe("dequantize input checks", () => {
  it("rejects unknown types and short buffers", () => {
    expect(() => dequantize(GgmlType.Q5_K, new Uint8Array(176), 256)).toThrow(/cannot dequantize Q5_K/);
    expect(() => dequantize(GgmlType.Q8_0, new Uint8Array(33), 32)).toThrow(/expected 34 bytes/);
    expect(() => dequantize(GgmlType.Q8_0, new Uint8Array(34), 31)).toThrow(/not a whole number/);
  });

  it("reads a file whose tensors were written by another tool's layout rules", () => {
    // Hand-built minimal GGUF v2 header with one F32 tensor, independently of the writer.
    const parts: number[] = [];
    const u32 = (x: number): void => { const b = Buffer.alloc(4); b.writeUInt32LE(x); parts.push(...b); };
    const u64 = (x: number): void => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(x)); parts.push(...b); };
    const str = (s: string): void => { u64(Buffer.byteLength(s)); parts.push(...Buffer.from(s)); };
    u32(0x46554747); u32(2); u64(1); u64(1);
    str("general.name"); u32(T.STRING); str("hand");
    str("w"); u32(1); u64(2); u32(GgmlType.F32); u64(0);
    while (parts.length % 32) parts.push(0);
    const data = Buffer.alloc(8); data.writeFloatLE(1.5, 0); data.writeFloatLE(-3, 4);
    writeFileSync(tmp.path("v2.gguf"), Buffer.concat([Buffer.from(parts), data]));
    const file = readGguf(tmp.path("v2.gguf"));
    expect(file.version).toBe(2);
    expect(file.metadata.get("general.name")).toEqual({ type: T.STRING, value: "hand" });
    expect(readTensorF32(file, "w")).toEqual(Float32Array.from([1.5, -3]));
  });
});
