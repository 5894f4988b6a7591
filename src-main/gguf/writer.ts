// GGUF writer: a small state machine (open → kvs and tensors added → written). Out-of-order
// calls and duplicate names throw. The file is written to a temporary name and renamed, so a
// crash never leaves a half-written model or adapter under the final name.
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { GGML_BLOCK, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_SCALAR_SIZE, GGUF_WRITE_VERSION, GgufValueType as T, Keys, ggmlTypeName } from "./constants.js";
import { encodeTensor } from "./dequantize.js";
import { GgufError } from "./errors.js";
import type { GgufKv } from "./types.js";

interface PendingTensor {
  name: string;
  dims: number[];
  type: number;
  data: Uint8Array;
}

const utf8 = new TextEncoder();

/** Collects metadata and tensors, then writes one GGUF v3 file. */
export class GgufWriter {
  private readonly kvs = new Map<string, GgufKv>();
  private readonly tensors: PendingTensor[] = [];
  private readonly tensorNames = new Set<string>();
  private written = false;

  constructor(
    readonly path: string,
    readonly alignment = GGUF_DEFAULT_ALIGNMENT,
  ) {
    if (alignment !== GGUF_DEFAULT_ALIGNMENT) this.kvs.set(Keys.general.alignment, { type: T.UINT32, value: alignment });
  }

  private assertOpen(what: string): void {
    if (this.written) throw new GgufError(this.path, `cannot ${what}: the file was already written`);
  }

  /** Add one metadata entry; a key may be added once. */
  addKv(key: string, value: GgufKv): this {
    this.assertOpen(`add metadata ${key}`);
    if (this.kvs.has(key)) throw new GgufError(this.path, `duplicate metadata key ${key}`);
    this.kvs.set(key, value);
    return this;
  }

  /**
   * Add a tensor from float32 values, encoded as `type` (F32, F16, BF16, Q8_0).
   * `dims` are in ggml order (dims[0] is the contiguous axis), as llama.cpp expects.
   */
  addTensor(name: string, dims: readonly number[], values: Float32Array, type: number = 0): this {
    const elements = dims.reduce((a, b) => a * b, 1);
    if (elements !== values.length) throw new GgufError(this.path, `tensor ${name}: shape [${dims.join(", ")}] holds ${elements} values, found ${values.length}`);
    return this.addRawTensor(name, dims, type, encodeTensor(type, values, `${this.path}: tensor ${name}`));
  }

  /** Add a tensor from bytes already in ggml `type` layout (e.g. copied from another GGUF). */
  addRawTensor(name: string, dims: readonly number[], type: number, data: Uint8Array): this {
    this.assertOpen(`add tensor ${name}`);
    if (this.tensorNames.has(name)) throw new GgufError(this.path, `duplicate tensor name ${name}`);
    const block = GGML_BLOCK[type];
    if (!block) throw new GgufError(this.path, `tensor ${name}: unknown ggml type ${type}`);
    if (dims.length < 1 || dims.length > 4 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new GgufError(this.path, `tensor ${name}: invalid shape [${dims.join(", ")}]`);
    }
    if (dims[0]! % block.elements !== 0) throw new GgufError(this.path, `tensor ${name}: row length ${dims[0]} is not a multiple of the ${ggmlTypeName(type)} block size ${block.elements}`);
    const elements = dims.reduce((a, b) => a * b, 1);
    const expected = (elements / block.elements) * block.bytes;
    if (data.length !== expected) throw new GgufError(this.path, `tensor ${name}: expected ${expected} bytes of ${ggmlTypeName(type)}, found ${data.length}`);
    this.tensorNames.add(name);
    this.tensors.push({ name, dims: [...dims], type, data });
    return this;
  }

  /** Write the file (atomically: temporary file, fsync, rename). Returns its size in bytes. */
  write(): number {
    this.assertOpen("write");
    this.written = true;
    const header = new ByteSink();
    header.u32(GGUF_MAGIC);
    header.u32(GGUF_WRITE_VERSION);
    header.u64(this.tensors.length);
    header.u64(this.kvs.size);
    for (const [key, value] of this.kvs) {
      header.string(key);
      header.u32(value.type);
      writeValue(header, value);
    }
    let offset = 0;
    const offsets: number[] = [];
    for (const t of this.tensors) {
      header.string(t.name);
      header.u32(t.dims.length);
      for (const d of t.dims) header.u64(d);
      header.u32(t.type);
      header.u64(offset);
      offsets.push(offset);
      offset = align(offset + t.data.length, this.alignment);
    }
    const headerBytes = header.bytes();
    const dataStart = align(headerBytes.length, this.alignment);

    const tmp = `${this.path}.tmp-${process.pid}`;
    let fd: number;
    try {
      fd = openSync(tmp, "w");
    } catch (e) {
      throw new GgufError(this.path, `cannot write: ${(e as Error).message}`);
    }
    try {
      writeSync(fd, headerBytes, 0, headerBytes.length, 0);
      this.tensors.forEach((t, i) => writeSync(fd, t.data, 0, t.data.length, dataStart + offsets[i]!));
      // Zero-fill the padding after the header and after the last tensor.
      const size = dataStart + offset;
      ftruncateSync(fd, size);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, this.path);
      return size;
    } catch (e) {
      try { closeSync(fd); } catch { /* already closed */ }
      rmSync(tmp, { force: true });
      throw new GgufError(this.path, `cannot write: ${(e as Error).message}`);
    }
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function writeValue(sink: ByteSink, v: GgufKv): void {
  if (v.type === T.STRING) return sink.string(v.value);
  if (v.type === T.ARRAY) {
    sink.u32(v.itemType);
    sink.u64(v.value.length);
    for (const item of v.value) {
      if (v.itemType === T.STRING) sink.string(item as string);
      else sink.scalar(v.itemType, item as number | bigint | boolean);
    }
    return;
  }
  sink.scalar(v.type, v.value);
}

/** A growable little-endian byte buffer. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  // Reserve before reading this.view: growing the buffer replaces the view.
  u32(x: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, x, true);
  }
  u64(x: number | bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(x), true);
  }
  string(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  scalar(type: number, x: number | bigint | boolean): void {
    const at = this.reserve(GGUF_SCALAR_SIZE[type]!);
    const v = this.view;
    switch (type) {
      case T.UINT8: return v.setUint8(at, x as number);
      case T.INT8: return v.setInt8(at, x as number);
      case T.UINT16: return v.setUint16(at, x as number, true);
      case T.INT16: return v.setInt16(at, x as number, true);
      case T.UINT32: return v.setUint32(at, x as number, true);
      case T.INT32: return v.setInt32(at, x as number, true);
      case T.FLOAT32: return v.setFloat32(at, x as number, true);
      case T.BOOL: return v.setUint8(at, x ? 1 : 0);
      case T.UINT64: return v.setBigUint64(at, BigInt(x as number | bigint), true);
      case T.INT64: return v.setBigInt64(at, BigInt(x as number | bigint), true);
      case T.FLOAT64: return v.setFloat64(at, x as number, true);
      default: throw new Error(`unknown GGUF value type ${type}`);
    }
  }
  bytes(): Uint8Array { return this.buf.subarray(0, this.len); }
}
