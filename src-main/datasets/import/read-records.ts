// Records from a user's file — JSONL, JSON, CSV or Parquet, optionally gzipped — each with the
// line (or row) it came from, so every later error can name it. The file is only read.
import { constants as bufferConstants } from "node:buffer";
import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { createGunzip } from "node:zlib";
import Papa from "papaparse";
import { parquetReadObjects } from "hyparquet";

/** One record and where it was in the file (1-based line for text formats, row for Parquet). */
export interface SourceRecord {
  line: number;
  value: Record<string, unknown>;
}

/** A problem with the file itself, naming the file and line. */
export class DatasetFileError extends Error {
  override name = "DatasetFileError";
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly detail: string,
  ) {
    super(`${file}${line === null ? "" : `:${line}`}: ${detail}`);
  }
}

export const DATASET_FORMATS = ["jsonl", "json", "csv", "parquet"] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** The format a file name says it has (".gz" looks through to the inner extension). */
export function formatOf(path: string): DatasetFormat {
  const name = basename(path).toLowerCase().replace(/\.gz$/, "");
  const ext = name.slice(name.lastIndexOf(".") + 1);
  if (ext === "ndjson") return "jsonl";
  if ((DATASET_FORMATS as readonly string[]).includes(ext)) return ext as DatasetFormat;
  throw new DatasetFileError(path, null, `unknown dataset format ".${ext}" (supported: ${DATASET_FORMATS.join(", ")}, optionally .gz)`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The most bytes a dataset may hold once decompressed: far above any prompt set, far below what a gzip bomb expands to. */
export const MAX_DATASET_BYTES = 1 << 30;

/** Text formats are parsed from one string, which V8 caps just under 512 MiB. */
const MAX_TEXT_BYTES = bufferConstants.MAX_STRING_LENGTH;

/** Options of `readRecords`. */
export interface ReadRecordsOptions {
  /** Refuse a file (after decompression) larger than this. Default MAX_DATASET_BYTES (text formats: at most V8's string limit). */
  maxBytes?: number;
}

/** A line (or item) of a file that could not be read as a record; the rest of the file still is. */
export interface BadLine {
  line: number;
  message: string;
}

/** Read every record of `path`; a bad line throws (strict: companion files such as BFCL's answers). */
export async function readRecords(path: string, options: ReadRecordsOptions = {}): Promise<SourceRecord[]> {
  const { records, badLines } = await readRecordsSkippingBad(path, options);
  const first = badLines[0];
  if (first) throw new DatasetFileError(path, first.line, first.message);
  return records;
}

/**
 * Read the records of `path`, skipping lines that are not records (invalid JSON, a JSON value
 * that is not an object, a malformed CSV row) and listing them: one bad line must not cost the
 * whole file. Problems with the file itself (unreadable, over the cap, not JSON at all) still throw.
 */
export async function readRecordsSkippingBad(path: string, options: ReadRecordsOptions = {}): Promise<{ records: SourceRecord[]; badLines: BadLine[] }> {
  const format = formatOf(path);
  const maxBytes = options.maxBytes ?? MAX_DATASET_BYTES;
  const bytes = await readCapped(path, format === "parquet" ? maxBytes : Math.min(maxBytes, MAX_TEXT_BYTES));
  if (format === "parquet") return { records: await readParquet(path, bytes), badLines: [] };
  // UTF-8 never decodes to more characters than bytes: under the cap, this string fits.
  const text = bytes.toString("utf8");
  switch (format) {
    case "jsonl": return jsonlLines(text);
    case "json": return readJson(path, text);
    case "csv": return readCsv(text);
  }
}

/**
 * The file's bytes, decompressed as they stream in when it ends in .gz, refused as soon as they
 * pass `maxBytes`: a gzip bomb costs at most `maxBytes` of memory, and every error names the file.
 */
async function readCapped(path: string, maxBytes: number): Promise<Buffer> {
  const gzip = path.toLowerCase().endsWith(".gz");
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new DatasetFileError(path, null, `cannot read: ${(e as Error).message}`);
  }
  const limit = `the limit is ${formatBytes(maxBytes)}`;
  if (!gzip && size > maxBytes) throw new DatasetFileError(path, null, `the file is ${formatBytes(size)}; ${limit}`);
  const chunks: Buffer[] = [];
  let total = 0;
  const source = createReadStream(path);
  const stream = gzip ? source.pipe(createGunzip()) : source;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw new DatasetFileError(path, null, `decompresses to more than ${formatBytes(maxBytes)} (from ${formatBytes(size)} compressed); ${limit}`);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof DatasetFileError) throw e;
    throw new DatasetFileError(path, null, `cannot read${gzip ? " (gzip)" : ""}: ${(e as Error).message}`);
  } finally {
    source.destroy();
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${+(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${+(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${+(n / (1 << 10)).toFixed(2)} KiB`;
  return `${n} bytes`;
}

/** Records of JSONL text (one object per line), each with its line; the first bad line throws, naming `path` and the line. */
export function readJsonl(path: string, text: string): SourceRecord[] {
  const { records, badLines } = jsonlLines(text);
  const first = badLines[0];
  if (first) throw new DatasetFileError(path, first.line, first.message);
  return records;
}

/** JSONL text split into records and bad lines (1-based). */
function jsonlLines(text: string): { records: SourceRecord[]; badLines: BadLine[] } {
  const records: SourceRecord[] = [];
  const badLines: BadLine[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      badLines.push({ line: i + 1, message: `not valid JSON: ${(e as Error).message}` });
      return;
    }
    if (isRecord(value)) records.push({ line: i + 1, value });
    else badLines.push({ line: i + 1, message: "each line must be a JSON object" });
  });
  return { records, badLines };
}

/**
 * A JSON array of objects, or an object holding one (e.g. {"data": [...]}); lines are those of
 * each object's start. Files named .json that hold one object per line (as BFCL's do) are read as JSONL.
 */
function readJson(path: string, text: string): { records: SourceRecord[]; badLines: BadLine[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (/^\s*\{[^\n]*\}\s*\r?\n\s*\{/.test(text)) return jsonlLines(text);
    throw new DatasetFileError(path, null, `not valid JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(value) ? value : isRecord(value) ? Object.values(value).find(Array.isArray) : undefined;
  if (!list) throw new DatasetFileError(path, null, "expected an array of objects (or an object with one)");
  // Line numbers: where each top-level object starts in the text.
  const starts: number[] = [];
  let depth = 0, line = 1, inString = false, escaped = false;
  for (const ch of text) {
    if (ch === "\n") line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") {
      if (ch === "{" && depth === (Array.isArray(value) ? 1 : 2)) starts.push(line);
      depth++;
    } else if (ch === "}" || ch === "]") depth--;
  }
  const records: SourceRecord[] = [];
  const badLines: BadLine[] = [];
  list.forEach((v, i) => {
    // Lines of non-object items are not counted by the scan above: name them by position.
    if (isRecord(v)) records.push({ line: starts[records.length] ?? i + 1, value: v });
    else badLines.push({ line: i + 1, message: `item ${i + 1} of the array is not an object` });
  });
  return { records, badLines };
}

/** CSV rows; a malformed row is listed (papaparse reports it) and left out. Lines assume one line per row. */
function readCsv(text: string): { records: SourceRecord[]; badLines: BadLine[] } {
  const parsed = Papa.parse<Record<string, unknown>>(text, { header: true, skipEmptyLines: true, dynamicTyping: false });
  // Row indices are data rows; the header is line 1.
  const bad = new Map<number, string>();
  for (const e of parsed.errors) if (e.row !== undefined && !bad.has(e.row)) bad.set(e.row, `CSV: ${e.message}`);
  const records: SourceRecord[] = [];
  parsed.data.forEach((value, i) => {
    if (!bad.has(i)) records.push({ line: i + 2, value });
  });
  return { records, badLines: [...bad].map(([row, message]) => ({ line: row + 2, message })) };
}

async function readParquet(path: string, bytes: Buffer): Promise<SourceRecord[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
  } catch (e) {
    throw new DatasetFileError(path, null, `not a readable Parquet file: ${(e as Error).message}`);
  }
  return rows.map((value, i) => ({ line: i + 1, value: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])) }));
}
