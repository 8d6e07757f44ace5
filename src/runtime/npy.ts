/** NumPy .npy arrays (the format of calibration and evaluation data): read into typed arrays; headers for writers. */
import fs from 'node:fs';
import type { HostTensor } from './tensors.js';
import { DType } from '../ir/dtype.js';
import { ConfigError } from '../errors.js';

const DESCR: Record<string, { dtype: number; ctor: new (b: ArrayBuffer, o: number, n: number) => HostTensor['data'] & ArrayLike<unknown>; size: number }> = {
  '<f4': { dtype: DType.FLOAT, ctor: Float32Array as never, size: 4 },
  '<f8': { dtype: DType.DOUBLE, ctor: Float64Array as never, size: 8 },
  '<i8': { dtype: DType.INT64, ctor: BigInt64Array as never, size: 8 },
  '<i4': { dtype: DType.INT32, ctor: Int32Array as never, size: 4 },
  '<u8': { dtype: DType.UINT64, ctor: BigUint64Array as never, size: 8 },
  '<i2': { dtype: DType.INT16, ctor: Int16Array as never, size: 2 },
  '<f2': { dtype: DType.FLOAT16, ctor: Uint16Array as never, size: 2 },
  '|i1': { dtype: DType.INT8, ctor: Int8Array as never, size: 1 },
  '|u1': { dtype: DType.UINT8, ctor: Uint8Array as never, size: 1 },
  '|b1': { dtype: DType.BOOL, ctor: Uint8Array as never, size: 1 },
};

export function readNpy(file: string): HostTensor {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new ConfigError(`${file}: cannot read the data file`);
  }
  return parseNpy(bytes, file);
}

export function parseNpy(bytes: Uint8Array, what: string): HostTensor {
  const magic = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  if (magic !== '\x93NUMPY') throw new ConfigError(`${what}: not a .npy file`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new ConfigError(`${what}: unreadable .npy header`);
  if (fortran) throw new ConfigError(`${what}: Fortran-ordered arrays are not supported; save with C order`);
  const kind = DESCR[descr];
  if (!kind) throw new ConfigError(`${what}: unsupported .npy dtype '${descr}'`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (bytes.byteLength - offset < count * kind.size) throw new ConfigError(`${what}: truncated .npy data`);
  const copy = new Uint8Array(count * kind.size);
  copy.set(bytes.subarray(offset, offset + count * kind.size));
  return { dtype: kind.dtype, dims, data: new kind.ctor(copy.buffer, 0, count) as HostTensor['data'] };
}

/** The .npy v1.0 header for a C-ordered array of `descr` (e.g. '<f4', '<i8'), padded to a multiple of 64 bytes. */
export function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = Buffer.alloc(total);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(dict.length, 8);
  out.write(dict, 10, 'latin1');
  return out;
}
