/**
 * Tensors whose values sit in the typed repeated fields (float_data, int32_data, int64_data, double_data,
 * uint64_data) instead of raw_data. Converted to raw little-endian bytes only when a pass reads them.
 */
import type { TensorProto } from '../onnx/proto.js';
import { InlineBytes, type ByteSource } from './tensor.js';
import { DType, byteLength, elementCount } from './dtype.js';
import { ModelFormatError } from '../errors.js';

class LazyBytes implements ByteSource {
  private cached: Uint8Array | undefined;
  constructor(readonly byteLength: number, private readonly convert: () => Uint8Array) {}
  read(): Uint8Array {
    this.cached ??= this.convert();
    return this.cached;
  }
  chunks(chunk: number): Iterable<Uint8Array> { return new InlineBytes(this.read()).chunks(chunk); }
  describe(): string { return 'typed fields'; }
}

/** A byte source for a tensor stored in typed fields; undefined for STRING tensors (no byte form). */
export function typedFieldSource(tp: TensorProto, dtype: number, dims: readonly number[]): ByteSource | undefined {
  if (dtype === DType.STRING) return undefined;
  const count = elementCount(dims);
  const size = byteLength(dtype, count);
  const name = tp.name ?? '';
  const check = (n: number) => {
    if (n !== count) throw new ModelFormatError(`tensor '${name}' holds ${n} values for ${count} elements`);
  };
  return new LazyBytes(size, () => {
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    switch (dtype) {
      case DType.FLOAT: { const src = tp.float_data ?? []; check(src.length); src.forEach((v, i) => view.setFloat32(i * 4, v, true)); break; }
      case DType.DOUBLE: { const src = tp.double_data ?? []; check(src.length); src.forEach((v, i) => view.setFloat64(i * 8, v, true)); break; }
      case DType.INT64: {
        const src = tp.int64_data ?? []; check(src.length);
        src.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v.toString()), true));
        break;
      }
      case DType.UINT64: case DType.UINT32: {
        const src = tp.uint64_data ?? []; check(src.length);
        src.forEach((v, i) => (dtype === DType.UINT64 ? view.setBigUint64(i * 8, BigInt(v.toString()), true) : view.setUint32(i * 4, Number(v.toString()), true)));
        break;
      }
      case DType.INT32: { const src = tp.int32_data ?? []; check(src.length); src.forEach((v, i) => view.setInt32(i * 4, v, true)); break; }
      case DType.INT16: case DType.UINT16: case DType.FLOAT16: case DType.BFLOAT16: {
        const src = tp.int32_data ?? []; check(src.length); src.forEach((v, i) => view.setUint16(i * 2, v & 0xffff, true)); break;
      }
      case DType.INT8: case DType.UINT8: case DType.BOOL:
      case DType.FLOAT8E4M3FN: case DType.FLOAT8E4M3FNUZ: case DType.FLOAT8E5M2: case DType.FLOAT8E5M2FNUZ: case DType.FLOAT8E8M0: {
        const src = tp.int32_data ?? []; check(src.length); src.forEach((v, i) => { out[i] = v & 0xff; }); break;
      }
      case DType.INT4: case DType.UINT4: case DType.FLOAT4E2M1: {
        // int32_data holds one packed byte (two 4-bit values, low nibble first) per entry.
        const src = tp.int32_data ?? [];
        if (src.length !== size) throw new ModelFormatError(`tensor '${name}' holds ${src.length} packed bytes for ${count} 4-bit elements`);
        src.forEach((v, i) => { out[i] = v & 0xff; });
        break;
      }
      default:
        throw new ModelFormatError(`tensor '${name}': typed-field storage of data type ${dtype} is not supported`);
    }
    return out;
  });
}
