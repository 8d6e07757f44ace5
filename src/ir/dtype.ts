/** ONNX tensor element types: ids as on the wire, names, storage widths and typed-array views. */

export const DType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
  FLOAT4E2M1: 23, FLOAT8E8M0: 24, UINT2: 25, INT2: 26,
} as const;
export type DType = (typeof DType)[keyof typeof DType];

/** Bits per element as stored in raw_data (sub-byte types are packed, low bits first). 0 = variable (STRING). */
const bitsById: Record<number, number> = {
  0: 0, 1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 8: 0, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64,
  15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2,
};

const nameById: Record<number, string> = Object.fromEntries(
  Object.entries(DType).map(([name, id]) => [id, name.toLowerCase()]),
);

export function isKnownDType(id: number): id is DType {
  return id in bitsById;
}

export function dtypeName(id: number): string {
  return nameById[id] ?? `dtype(${id})`;
}

export function dtypeBits(id: number): number {
  return bitsById[id] ?? 0;
}

/** Bytes needed for `count` elements in raw_data form (sub-byte types rounded up to whole bytes). */
export function byteLength(id: number, count: number): number {
  return Math.ceil((dtypeBits(id) * count) / 8);
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function isFloat(id: number): boolean {
  return id === DType.FLOAT || id === DType.FLOAT16 || id === DType.DOUBLE || id === DType.BFLOAT16;
}

/** The onnxruntime-node tensor type name for an ONNX dtype, where one exists. */
export function ortTypeName(id: number): string | undefined {
  const table: Record<number, string> = {
    1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
    10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 21: 'uint4', 22: 'int4',
  };
  return table[id];
}

export function dtypeFromOrtName(name: string): DType | undefined {
  const table: Record<string, DType> = {
    float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
    float16: 10, float64: 11, uint32: 12, uint64: 13, uint4: 21, int4: 22,
  };
  return table[name];
}
