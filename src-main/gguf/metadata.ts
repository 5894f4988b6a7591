// Typed access to metadata values, and constructors for writing them.
import { GgufValueType as T } from "./constants.js";
import { GgufError } from "./errors.js";
import type { GgufFile } from "./reader.js";
import type { GgufArrayKv, GgufKv } from "./types.js";

/** Constructors for metadata values with the type llama.cpp expects for each key. */
export const kv = {
  u32: (value: number): GgufKv => ({ type: T.UINT32, value }),
  i32: (value: number): GgufKv => ({ type: T.INT32, value }),
  f32: (value: number): GgufKv => ({ type: T.FLOAT32, value }),
  bool: (value: boolean): GgufKv => ({ type: T.BOOL, value }),
  str: (value: string): GgufKv => ({ type: T.STRING, value }),
  strings: (value: readonly string[]): GgufKv => ({ type: T.ARRAY, itemType: T.STRING, value }),
  f32s: (value: readonly number[]): GgufKv => ({ type: T.ARRAY, itemType: T.FLOAT32, value }),
  i32s: (value: readonly number[]): GgufKv => ({ type: T.ARRAY, itemType: T.INT32, value }),
};

function get(file: GgufFile, key: string): GgufKv | undefined {
  return file.metadata.get(key);
}

/** A numeric metadata value (any integer or float type), or `fallback` when absent. */
export function metaNumber(file: GgufFile, key: string, fallback?: number): number {
  const e = get(file, key);
  if (e === undefined) {
    if (fallback !== undefined) return fallback;
    throw new GgufError(file.path, `missing metadata key ${key}`);
  }
  if (typeof e.value === "number") return e.value;
  if (typeof e.value === "bigint") return Number(e.value);
  throw new GgufError(file.path, `metadata ${key} should be a number, found ${describe(e)}`);
}

/** A string metadata value, or `fallback` when absent. */
export function metaString(file: GgufFile, key: string, fallback?: string): string {
  const e = get(file, key);
  if (e === undefined) {
    if (fallback !== undefined) return fallback;
    throw new GgufError(file.path, `missing metadata key ${key}`);
  }
  if (typeof e.value === "string") return e.value;
  throw new GgufError(file.path, `metadata ${key} should be a string, found ${describe(e)}`);
}

/** A boolean metadata value, or `fallback` when absent. */
export function metaBool(file: GgufFile, key: string, fallback: boolean): boolean {
  const e = get(file, key);
  if (e === undefined) return fallback;
  if (typeof e.value === "boolean") return e.value;
  throw new GgufError(file.path, `metadata ${key} should be a bool, found ${describe(e)}`);
}

/** An array metadata value, or undefined when absent. */
export function metaArray(file: GgufFile, key: string): GgufArrayKv | undefined {
  const e = get(file, key);
  if (e === undefined) return undefined;
  if (e.type === T.ARRAY) return e;
  throw new GgufError(file.path, `metadata ${key} should be an array, found ${describe(e)}`);
}

function describe(e: GgufKv): string {
  const name = Object.entries(T).find(([, v]) => v === e.type)?.[0] ?? `type ${e.type}`;
  return name.toLowerCase();
}
