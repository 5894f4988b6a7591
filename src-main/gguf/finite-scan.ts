// Finds NaN and infinite values in a GGUF file's tensors without decoding them: float tensors
// are checked value by value from their bit patterns; quantized tensors through their block
// scales (the only floats a block holds: integer quants cannot be non-finite, so a block
// decodes to finite values exactly when its scales are finite). Reads in windows, so a
// multi-gigabyte model costs one window of memory.
import { closeSync, openSync, readSync } from "node:fs";
import { GGML_BLOCK, GgmlType, ggmlTypeName } from "./constants.js";
import { GgufError } from "./errors.js";
import type { GgufFile } from "./reader.js";
import type { GgufTensorInfo } from "./types.js";

/**
 * Byte offsets of the floating-point fields inside one block of each quantized type, from the
 * block structs in ggml/src/ggml-common.h (`d`, `dmin`, `m`, `s`). IQ1_M packs its half `d`
 * into the top nibbles of four uint16 scales (handled apart); MXFP4 holds an E8M0 exponent.
 */
const BLOCK_SCALES: Readonly<Record<number, { half?: readonly number[]; f32?: readonly number[]; e8m0?: readonly number[] }>> = {
  [GgmlType.Q4_0]: { half: [0] },
  [GgmlType.Q4_1]: { half: [0, 2] },
  [GgmlType.Q5_0]: { half: [0] },
  [GgmlType.Q5_1]: { half: [0, 2] },
  [GgmlType.Q8_0]: { half: [0] },
  [GgmlType.Q8_1]: { half: [0, 2] },
  [GgmlType.Q2_K]: { half: [80, 82] },
  [GgmlType.Q3_K]: { half: [108] },
  [GgmlType.Q4_K]: { half: [0, 2] },
  [GgmlType.Q5_K]: { half: [0, 2] },
  [GgmlType.Q6_K]: { half: [208] },
  [GgmlType.Q8_K]: { f32: [0] },
  [GgmlType.IQ2_XXS]: { half: [0] },
  [GgmlType.IQ2_XS]: { half: [0] },
  [GgmlType.IQ3_XXS]: { half: [0] },
  [GgmlType.IQ1_S]: { half: [0] },
  [GgmlType.IQ4_NL]: { half: [0] },
  [GgmlType.IQ3_S]: { half: [0] },
  [GgmlType.IQ2_S]: { half: [0] },
  [GgmlType.IQ4_XS]: { half: [0] },
  [GgmlType.IQ1_M]: {},
  [GgmlType.TQ1_0]: { half: [52] },
  [GgmlType.TQ2_0]: { half: [64] },
  [GgmlType.MXFP4]: { e8m0: [0] },
};

/** Integer tensors hold no floats. */
const INTEGER_TYPES: readonly number[] = [GgmlType.I8, GgmlType.I16, GgmlType.I32, GgmlType.I64];

/** Bytes read at a time, rounded down to whole blocks of each tensor's type. */
const WINDOW_BYTES = 8 << 20;

/** A tensor holding a NaN or an infinity: the file, the tensor, where, and what was found. */
export class NonFiniteTensorError extends GgufError {
  override name = "NonFiniteTensorError";
  constructor(
    file: string,
    readonly tensor: string,
    /** Element index for float tensors, block index for quantized ones. */
    readonly index: number,
    /** "NaN", "Infinity", or "scale NaN" for a quantized block's scale. */
    readonly found: string,
  ) {
    const where = found.startsWith("scale") ? `block ${index}` : `element ${index}`;
    super(file, `tensor ${tensor} holds a non-finite value (${found}) at ${where}; expected finite weights (the file is corrupt or the training that wrote it diverged)`);
  }
}

/** Whether `scanFinite` can check tensors of this ggml type. */
export function canScanFinite(type: number): boolean {
  return type in BLOCK_SCALES || INTEGER_TYPES.includes(type) || [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.F64].includes(type as never);
}

/** Throw NonFiniteTensorError for the first tensor of `file` (in `tensors`, default all) holding a NaN or ±Infinity. */
export function assertFiniteTensors(file: GgufFile, tensors: readonly GgufTensorInfo[] = file.tensors): void {
  const fd = openSync(file.path, "r");
  try {
    // A fresh buffer starts at byte 0 of its ArrayBuffer, so typed views over it are aligned.
    let buffer = new Uint8Array(0);
    for (const t of tensors) {
      if (INTEGER_TYPES.includes(t.type)) continue;
      if (!canScanFinite(t.type)) throw new GgufError(file.path, `tensor ${t.name}: cannot check ${ggmlTypeName(t.type)} values for NaN (unknown block layout)`);
      // Windows hold whole blocks (for float types a block is one value).
      const unit = GGML_BLOCK[t.type]!.bytes;
      const windowBytes = Math.max(1, Math.floor(WINDOW_BYTES / unit)) * unit;
      const need = Math.min(windowBytes, t.byteSize);
      if (buffer.length < need) buffer = new Uint8Array(need);
      for (let done = 0; done < t.byteSize; ) {
        const n = Math.min(windowBytes, t.byteSize - done);
        readExactly(fd, buffer, n, file.dataOffset + t.offset + done, file.path, t.name);
        const bad = scanWindow(t.type, buffer, n);
        if (bad) throw new NonFiniteTensorError(file.path, t.name, done / unit + bad.index, bad.found);
        done += n;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function readExactly(fd: number, into: Uint8Array, n: number, position: number, path: string, tensor: string): void {
  let done = 0;
  while (done < n) {
    const got = readSync(fd, into, done, n - done, position + done);
    if (got === 0) throw new GgufError(path, `truncated: tensor ${tensor} ends past the end of the file (at byte ${position + done})`);
    done += got;
  }
}

/** The first non-finite value in `n` bytes of whole blocks: its element (float types) or block index, and what it is. */
function scanWindow(type: number, bytes: Uint8Array, n: number): { index: number; found: string } | null {
  switch (type) {
    case GgmlType.F32: {
      // Exponent bits all ones: NaN or ±Infinity. Integer tests avoid float conversions.
      const u = new Uint32Array(bytes.buffer, bytes.byteOffset, n / 4);
      for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7f800000) === 0x7f800000) return { index: i, found: describeF32(u[i]!) };
      return null;
    }
    case GgmlType.F16: {
      const u = new Uint16Array(bytes.buffer, bytes.byteOffset, n / 2);
      for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7c00) === 0x7c00) return { index: i, found: describeHalf(u[i]!) };
      return null;
    }
    case GgmlType.BF16: {
      const u = new Uint16Array(bytes.buffer, bytes.byteOffset, n / 2);
      for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7f80) === 0x7f80) return { index: i, found: describeF32(u[i]! << 16) };
      return null;
    }
    case GgmlType.F64: {
      const v = new DataView(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n / 8; i++) {
        const x = v.getFloat64(i * 8, true);
        if (!Number.isFinite(x)) return { index: i, found: String(x) };
      }
      return null;
    }
  }
  const layout = BLOCK_SCALES[type]!;
  const size = GGML_BLOCK[type]!.bytes;
  const v = new DataView(bytes.buffer, bytes.byteOffset, n);
  for (let b = 0, o = 0; o < n; b++, o += size) {
    for (const at of layout.half ?? []) {
      const h = v.getUint16(o + at, true);
      if ((h & 0x7c00) === 0x7c00) return { index: b, found: `scale ${describeHalf(h)}` };
    }
    for (const at of layout.f32 ?? []) {
      const u = v.getUint32(o + at, true);
      if ((u & 0x7f800000) === 0x7f800000) return { index: b, found: `scale ${describeF32(u)}` };
    }
    // ggml_e8m0_to_fp32: 0xFF becomes 2^128, an infinity.
    for (const at of layout.e8m0 ?? []) if (v.getUint8(o + at) === 0xff) return { index: b, found: "scale Infinity" };
    if (type === GgmlType.IQ1_M) {
      // block_iq1_m: scales are four uint16 at byte 48; d's half bits are their top nibbles.
      const s = (k: number): number => v.getUint16(o + 48 + 2 * k, true);
      const h = (s(0) >> 12) | ((s(1) >> 8) & 0x00f0) | ((s(2) >> 4) & 0x0f00) | (s(3) & 0xf000);
      if ((h & 0x7c00) === 0x7c00) return { index: b, found: `scale ${describeHalf(h)}` };
    }
  }
  return null;
}

function describeF32(bits: number): string {
  if ((bits & 0x007fffff) !== 0) return "NaN";
  return bits & 0x80000000 ? "-Infinity" : "Infinity";
}

function describeHalf(bits: number): string {
  if ((bits & 0x03ff) !== 0) return "NaN";
  return bits & 0x8000 ? "-Infinity" : "Infinity";
}
