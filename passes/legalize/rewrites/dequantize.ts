/**
 * Constant DequantizeLinear inputs read as numbers: which scale element each data element uses (per
 * tensor, per axis or per block), the float values, and symmetric signed requantization.
 */
import type { Node } from '../../../src/ir/node.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import { float16ToFloat32, float32ToFloat16, bfloat16ToFloat32, float32ToBfloat16 } from '../../../src/math/half.js';
import { integerValues } from '../../../src/targets/qdq.js';
import { packInt4 } from '../../../src/math/pack.js';
import { searchBlockParams } from '../../../src/math/blockwise.js';

export function floatValues(t: Tensor): Float32Array {
  if (t.dtype === DType.FLOAT) return t.toFloat32();
  if (t.dtype === DType.FLOAT16) return float16ToFloat32(t.toTyped() as Uint16Array);
  if (t.dtype === DType.BFLOAT16) return bfloat16ToFloat32(t.toTyped() as Uint16Array);
  return Float32Array.from(t.toTyped() as ArrayLike<number>, Number);
}

export function floatTensor(name: string, dtype: number, dims: readonly number[], values: Float32Array): Tensor {
  if (dtype === DType.FLOAT16) return Tensor.fromTyped(name, dtype, dims, float32ToFloat16(values));
  if (dtype === DType.BFLOAT16) return Tensor.fromTyped(name, dtype, dims, float32ToBfloat16(values));
  return Tensor.fromTyped(name, DType.FLOAT, dims, values);
}

/** Scale group of every element: per tensor (0), per axis (coordinate) or per block (block coordinates). */
export function groupIndex(dims: readonly number[], axis: number | undefined, blockSize: number): Int32Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Int32Array(n);
  if (axis === undefined) return out;
  const rank = dims.length;
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const groupDims = dims.map((d, i) => (i === axis ? (blockSize ? Math.ceil(d / blockSize) : d) : blockSize ? d : 1));
  const groupStrides = groupDims.map((_, i) => groupDims.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < n; i++) {
    let g = 0;
    for (let r = 0; r < rank; r++) {
      const c = Math.floor(i / strides[r]!) % dims[r]!;
      if (r === axis) g += (blockSize ? Math.floor(c / blockSize) : c) * groupStrides[r]!;
      else if (blockSize) g += c * groupStrides[r]!;
    }
    out[i] = g;
  }
  return out;
}

export interface ConstantDq {
  readonly data: Tensor;
  readonly scale: Tensor;
  readonly zeroPoint: Tensor | undefined;
  /** Normalized axis, undefined for per-tensor. */
  readonly axis: number | undefined;
  readonly blockSize: number;
  readonly groups: Int32Array;
  readonly values: Float32Array;
}

/** The DQ's constant operands and the float weight it produces (undefined when an operand is not constant). */
export function readConstantDq(node: Node): ConstantDq | undefined {
  const data = constantTensor(node.inputs[0]);
  const scale = constantTensor(node.inputs[1]);
  const zeroPoint = node.inputs[2] ? constantTensor(node.inputs[2]) : undefined;
  if (!data || !scale || (node.inputs[2] && !zeroPoint)) return undefined;
  const rank = data.dims.length;
  const blockSize = node.getInt('block_size', 0);
  const axis = scale.elementCount <= 1 && !blockSize ? undefined : ((node.getInt('axis', 1) % rank) + rank) % rank;
  const groups = groupIndex(data.dims, axis, blockSize);
  const q = integerValues(data);
  const s = floatValues(scale);
  const z = zeroPoint ? integerValues(zeroPoint) : undefined;
  const values = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const g = groups[i]!;
    values[i] = Math.fround(Math.fround(q[i]! - (z?.[g] ?? 0)) * s[g]!);
  }
  return { data, scale, zeroPoint, axis, blockSize, groups, values };
}

export interface Requantized {
  readonly data: Tensor;
  readonly scale: Tensor;
  /** ||w' - w|| / ||w||. */
  readonly relativeError: number;
}

/**
 * Symmetric signed codes with zero point 0 over the given groups. int8: narrow range ±127, scale max|w|/127.
 * int4: the whole range -8..7 with each group's scale searched by least squared error (as the weight-only
 * quantizer does), since one level of 16 matters.
 */
export function requantizeSymmetric(values: Float32Array, dims: readonly number[], groups: Int32Array, groupCount: number, scaleDims: readonly number[], bits: 4 | 8, scaleType: number, name: string): Requantized {
  const raw = bits === 8 ? int8Scales(values, groups, groupCount) : int4Scales(values, groups, groupCount);
  const scaleTensor = floatTensor(`${name}_scale`, scaleType, scaleDims, raw);
  const scales = floatValues(scaleTensor);
  const [lo, hi] = bits === 8 ? [-127, 127] : [-8, 7];
  const codes = new Int8Array(values.length);
  let err = 0, norm = 0;
  for (let i = 0; i < values.length; i++) {
    const s = scales[groups[i]!]!;
    const q = Math.max(lo, Math.min(hi, Math.round(values[i]! / s)));
    codes[i] = q;
    const d = q * s - values[i]!;
    err += d * d;
    norm += values[i]! * values[i]!;
  }
  const bytes = bits === 4 ? packInt4(codes) : new Uint8Array(codes.buffer);
  const data = Tensor.fromBytes(`${name}_q`, bits === 4 ? DType.INT4 : DType.INT8, dims, bytes);
  return { data, scale: scaleTensor, relativeError: norm === 0 ? 0 : Math.sqrt(err / norm) };
}

function int8Scales(values: Float32Array, groups: Int32Array, count: number): Float32Array {
  const maxAbs = new Float32Array(count);
  for (let i = 0; i < values.length; i++) maxAbs[groups[i]!] = Math.max(maxAbs[groups[i]!]!, Math.abs(values[i]!));
  return Float32Array.from(maxAbs, (m) => (m === 0 ? 1 : m / 127));
}

function int4Scales(values: Float32Array, groups: Int32Array, count: number): Float32Array {
  const sizes = new Int32Array(count);
  for (const g of groups) sizes[g]!++;
  const members = Array.from(sizes, (n) => new Float32Array(n));
  const fill = new Int32Array(count);
  for (let i = 0; i < values.length; i++) members[groups[i]!]![fill[groups[i]!]!++] = values[i]!;
  return Float32Array.from(members, (m) => searchBlockParams(m, 4, true).scale);
}
