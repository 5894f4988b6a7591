// The safetensors format (huggingface/safetensors): u64 little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, __metadata__?}, then the tensor bytes.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";

/** A float32 tensor, row-major. */
export interface F32Tensor {
  shape: readonly number[];
  data: Float32Array;
}

/** A safetensors file that cannot be read, naming the file. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

/** Write float32 `tensors` (in insertion order) and string metadata atomically. */
export function writeSafetensors(path: string, tensors: ReadonlyMap<string, F32Tensor>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError(`${path}: tensor ${name} has shape [${t.shape.join(", ")}] but ${t.data.length} values`);
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps the data 8-byte aligned
  const headerBytes = Buffer.from(json, "utf8");
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(headerBytes.length));
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, size);
    writeSync(fd, headerBytes);
    for (const t of tensors.values()) writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Read a safetensors file of F32 tensors. */
export function readSafetensors(path: string): { tensors: Map<string, F32Tensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot read: ${(e as Error).message}`);
  }
  if (buf.length < 8) throw new SafetensorsError(`${path}: truncated: ${buf.length} bytes`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8) throw new SafetensorsError(`${path}: header claims ${n} bytes but the file has ${buf.length - 8} after the length`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch (e) {
    throw new SafetensorsError(`${path}: header is not JSON: ${(e as Error).message}`);
  }
  const dataStart = 8 + n;
  const tensors = new Map<string, F32Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== "F32") throw new SafetensorsError(`${path}: tensor ${name} is ${e.dtype}; only F32 is read`);
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4 || dataStart + end > buf.length) throw new SafetensorsError(`${path}: tensor ${name} has bad offsets [${begin}, ${end}]`);
    const bytes = buf.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { shape: e.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) });
  }
  return { tensors, metadata };
}
