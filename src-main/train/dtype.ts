// Element types the training graph uses, with their ONNX numbers (onnx.proto TensorProto.DataType).

export const DTYPES = ["float32", "float64", "float16", "int64", "int32", "bool"] as const;
export type DType = (typeof DTYPES)[number];

/** TensorProto.DataType values (onnx/onnx.proto). */
export const ONNX_DTYPE: Record<DType, number> = { float32: 1, float64: 11, float16: 10, int64: 7, int32: 6, bool: 9 };

/** Whether gradients flow through values of this type. */
export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16";
}

/** Bytes per element. */
export const DTYPE_BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, bool: 1 };

/** Typed arrays holding each type's values. */
export type TypedArrayFor<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "float64"
    ? Float64Array
    : D extends "float16"
      ? Uint16Array
      : D extends "int64"
        ? BigInt64Array
        : D extends "int32"
          ? Int32Array
          : Uint8Array;

export type AnyTypedArray = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;
