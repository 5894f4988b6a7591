// GGUF reader: header, every metadata value type, tensor infos and lazy tensor data.
// Reads through a file descriptor in windows, so a multi-gigabyte model costs only its header
// in memory, and every count and length is checked against the bytes that remain before
// anything is allocated: a corrupt file yields a GgufError, never a huge allocation or a hang.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import {
  GGML_BLOCK,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_READ_VERSIONS,
  GGUF_SCALAR_SIZE,
  GgufValueType,
  Keys,
  ggmlTypeName,
} from "./constants.js";
import { GgufError } from "./errors.js";
import type { GgufKv, GgufTensorInfo, GgufArrayKv } from "./types.js";

/** The parsed header of a GGUF file; tensor data stays on disk until asked for. */
export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufKv>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset of the tensor data section. */
  readonly dataOffset: number;
  readonly fileSize: number;
}

const WINDOW = 1 << 20;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads forward through a file, one window at a time, with bounds checks on every read. */
class Cursor {
  private window = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly file: string,
  ) {}

  fail(detail: string, at = this.pos): never {
    throw new GgufError(this.file, detail, at);
  }

  /** Make [pos, pos+n) addressable; returns its offset inside the window. */
  private ensure(n: number, what: string): number {
    if (this.pos + n > this.size) this.fail(`truncated: ${what} needs ${n} bytes but only ${this.size - this.pos} remain`);
    const rel = this.pos - this.windowStart;
    if (rel >= 0 && rel + n <= this.window.length) return rel;
    const len = Math.min(Math.max(n, WINDOW), this.size - this.pos);
    this.window = new Uint8Array(len);
    readFully(this.fd, this.window, this.pos);
    this.view = new DataView(this.window.buffer);
    this.windowStart = this.pos;
    return 0;
  }

  u8(what: string): number {
    const r = this.ensure(1, what);
    this.pos += 1;
    return this.view.getUint8(r);
  }
  u32(what: string): number {
    const r = this.ensure(4, what);
    this.pos += 4;
    return this.view.getUint32(r, true);
  }
  /** A uint64 that must fit a JS number (counts, lengths, offsets). */
  u64n(what: string): number {
    const r = this.ensure(8, what);
    const v = this.view.getBigUint64(r, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${v}, larger than any file`);
    this.pos += 8;
    return Number(v);
  }
  scalar(type: number, what: string): number | bigint | boolean {
    const size = GGUF_SCALAR_SIZE[type]!;
    const r = this.ensure(size, what);
    this.pos += size;
    const v = this.view;
    switch (type) {
      case GgufValueType.UINT8: return v.getUint8(r);
      case GgufValueType.INT8: return v.getInt8(r);
      case GgufValueType.UINT16: return v.getUint16(r, true);
      case GgufValueType.INT16: return v.getInt16(r, true);
      case GgufValueType.UINT32: return v.getUint32(r, true);
      case GgufValueType.INT32: return v.getInt32(r, true);
      case GgufValueType.FLOAT32: return v.getFloat32(r, true);
      case GgufValueType.BOOL: {
        const b = v.getUint8(r);
        if (b > 1) this.fail(`${what}: a bool must be 0 or 1, found ${b}`, this.pos - 1);
        return b === 1;
      }
      case GgufValueType.UINT64: return v.getBigUint64(r, true);
      case GgufValueType.INT64: return v.getBigInt64(r, true);
      case GgufValueType.FLOAT64: return v.getFloat64(r, true);
      default: return this.fail(`${what}: unknown value type ${type}`);
    }
  }
  string(what: string): string {
    const start = this.pos;
    const len = this.u64n(`${what} length`);
    if (len > this.size - this.pos) this.fail(`truncated: ${what} claims ${len} bytes but only ${this.size - this.pos} remain`, start);
    const r = this.ensure(len, what);
    this.pos += len;
    try {
      return utf8.decode(this.window.subarray(r, r + len));
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

function isValueType(t: number): boolean {
  return t >= 0 && t <= 12;
}

function readValue(c: Cursor, type: number, key: string): GgufKv {
  if (type === GgufValueType.STRING) return { type, value: c.string(`value of ${key}`) };
  if (type === GgufValueType.ARRAY) {
    const itemType = c.u32(`item type of ${key}`);
    if (!isValueType(itemType) || itemType === GgufValueType.ARRAY) c.fail(`${key}: unsupported array item type ${itemType}`, c.pos - 4);
    const count = c.u64n(`item count of ${key}`);
    // Each item takes at least one byte (a string at least eight): reject impossible counts before allocating.
    const minItem = itemType === GgufValueType.STRING ? 8 : GGUF_SCALAR_SIZE[itemType]!;
    if (count * minItem > c.size - c.pos) c.fail(`truncated: ${key} claims ${count} items but only ${c.size - c.pos} bytes remain`);
    const items = new Array<unknown>(count);
    for (let i = 0; i < count; i++) {
      items[i] = itemType === GgufValueType.STRING ? c.string(`${key}[${i}]`) : c.scalar(itemType, `${key}[${i}]`);
    }
    return { type, itemType, value: items } as GgufArrayKv;
  }
  if (!isValueType(type)) c.fail(`${key}: unknown value type ${type}`, c.pos - 4);
  return { type, value: c.scalar(type, `value of ${key}`) } as GgufKv;
}

/** Bytes a tensor of this type and shape occupies, or an error when the shape does not fit the block size. */
export function tensorByteSize(type: number, elements: number, rowLength: number, file = "<tensor>", name = ""): number {
  const block = GGML_BLOCK[type];
  if (!block) throw new GgufError(file, `tensor ${name} has unknown ggml type ${type}`);
  if (rowLength % block.elements !== 0) {
    throw new GgufError(file, `tensor ${name}: row length ${rowLength} is not a multiple of the ${ggmlTypeName(type)} block size ${block.elements}`);
  }
  return (elements / block.elements) * block.bytes;
}

/** Parse a GGUF file's header and tensor table. Throws GgufError naming the file and offset. */
export function readGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new GgufError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    return parse(fd, path);
  } catch (e) {
    if (e instanceof GgufError) throw e;
    throw new GgufError(path, (e as Error).message);
  } finally {
    closeSync(fd);
  }
}

function parse(fd: number, path: string): GgufFile {
  const size = fstatSync(fd).size;
  const c = new Cursor(fd, size, path);
  if (size < 4) c.fail(`not a GGUF file: ${size} bytes is shorter than the magic`, 0);
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) {
    const found = Buffer.from(new Uint32Array([magic]).buffer).toString("latin1");
    c.fail(`not a GGUF file: expected magic "GGUF", found ${JSON.stringify(found)}`, 0);
  }
  const version = c.u32("version");
  if (!(GGUF_READ_VERSIONS as readonly number[]).includes(version)) {
    c.fail(`unsupported GGUF version ${version} (this reader supports ${GGUF_READ_VERSIONS.join(", ")})`, 4);
  }
  const tensorCount = c.u64n("tensor count");
  const kvCount = c.u64n("metadata count");
  // A key-value pair takes at least 13 bytes, a tensor info at least 24.
  if (kvCount * 13 + tensorCount * 24 > size - c.pos) {
    c.fail(`truncated or corrupt: header claims ${kvCount} metadata entries and ${tensorCount} tensors in a ${size}-byte file`, 8);
  }

  const metadata = new Map<string, GgufKv>();
  for (let i = 0; i < kvCount; i++) {
    const at = c.pos;
    const key = c.string(`metadata key #${i}`);
    if (metadata.has(key)) c.fail(`duplicate metadata key ${key}`, at);
    const type = c.u32(`value type of ${key}`);
    metadata.set(key, readValue(c, type, key));
  }

  const alignKv = metadata.get(Keys.general.alignment);
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignKv) {
    if (alignKv.type !== GgufValueType.UINT32) c.fail(`${Keys.general.alignment} must be a uint32`);
    alignment = alignKv.value as number;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) c.fail(`${Keys.general.alignment} must be a power of two, found ${alignment}`);
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = c.pos;
    const name = c.string(`tensor name #${i}`);
    if (names.has(name)) c.fail(`duplicate tensor name ${name}`, at);
    names.add(name);
    const nDims = c.u32(`rank of ${name}`);
    if (nDims < 1 || nDims > MAX_DIMS) c.fail(`tensor ${name} has rank ${nDims}; expected 1..${MAX_DIMS}`, c.pos - 4);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.u64n(`dimension ${d} of ${name}`);
      if (n === 0) c.fail(`tensor ${name} has an empty dimension ${d}`, c.pos - 8);
      elements *= n;
      if (elements > size * 8) c.fail(`tensor ${name} claims ${elements}+ elements, more than the file could hold`, c.pos - 8);
      dims.push(n);
    }
    const type = c.u32(`type of ${name}`);
    if (!GGML_BLOCK[type]) c.fail(`tensor ${name} has unknown ggml type ${type}`, c.pos - 4);
    const offset = c.u64n(`data offset of ${name}`);
    if (offset % alignment !== 0) c.fail(`tensor ${name} data offset ${offset} is not aligned to ${alignment}`, c.pos - 8);
    const byteSize = tensorByteSize(type, elements, dims[0]!, path, name);
    tensors.push({ name, dims, type, offset, elements, byteSize });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    const end = dataOffset + t.offset + t.byteSize;
    if (end > size) {
      throw new GgufError(path, `truncated: tensor ${t.name} (${ggmlTypeName(t.type)}, ${t.byteSize} bytes) ends at byte ${end} but the file has ${size}`);
    }
  }
  return { path, version, metadata, tensors, alignment, dataOffset, fileSize: size };
}

/** The raw bytes of one tensor, read from disk. */
export function readTensorBytes(file: GgufFile, tensor: GgufTensorInfo): Uint8Array {
  const out = new Uint8Array(tensor.byteSize);
  const fd = openSync(file.path, "r");
  try {
    readFully(fd, out, file.dataOffset + tensor.offset);
  } catch (e) {
    throw new GgufError(file.path, `cannot read tensor ${tensor.name}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The tensor info of `name`, or an error listing what the file has. */
export function findTensor(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new GgufError(file.path, `no tensor named ${name} (the file has ${file.tensors.length} tensors)`);
  return t;
}
