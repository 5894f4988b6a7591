import type { GgufValueType } from "./constants.js";

type ScalarTypes = Exclude<GgufValueType, 8 | 9 | 10 | 11 | 7>;

/** One metadata value with its GGUF type, so a file can be written back unchanged. */
export type GgufKv =
  | { type: ScalarTypes; value: number }
  | { type: 10 | 11; value: bigint }
  | { type: 7; value: boolean }
  | { type: 8; value: string }
  | GgufArrayKv;

/** An array value: every item has `itemType` (arrays of arrays are not used by llama.cpp). */
export interface GgufArrayKv {
  type: 9;
  itemType: Exclude<GgufValueType, 9>;
  value: readonly (number | bigint | boolean | string)[];
}

/** One entry of the tensor table. `dims` are in ggml order: dims[0] is the contiguous (row) axis. */
export interface GgufTensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  /** Offset inside the data section. */
  readonly offset: number;
  readonly elements: number;
  readonly byteSize: number;
}
