/**
 * Constant projection weights and biases: where they come from, whether they can be taken over, and how
 * several of them are laid side by side in one [K, N1 + N2 + ...] matrix.
 */
import type { Tensor } from '../../../src/ir/tensor.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { constantTensor } from '../../../src/analysis/constants.js';

/** Element types whose bytes are concatenated as they are. */
export const MERGEABLE_DTYPES: ReadonlySet<number> = new Set([DType.FLOAT, DType.FLOAT16]);

/** A constant 2-D weight as a projection reads it: [K, N], or stored as [N, K] and read transposed. */
export interface Weight {
  readonly tensor: Tensor;
  readonly transposed: boolean;
  readonly k: number;
  readonly n: number;
}

export type Found<T> = { readonly ok: T } | { readonly reason: string };

/** True when exactly one node input reads `v` and it is not a graph output. */
function readOnce(v: Value): boolean {
  return v.uses.length === 1 && !v.isGraphOutput;
}

/** The tensor behind an initializer (not an overridable graph input) or a Constant node. */
export function constantOf(v: Value): Tensor | undefined {
  return v.isGraphInput ? undefined : constantTensor(v);
}

/**
 * The weight `v` stands for, through Identity and a 2-D Transpose (dynamo exports keep PyTorch's [out, in]
 * layout behind one). Every value on the way must be read by this projection only: a shared weight would
 * be stored twice after the merge.
 */
export function weightOf(v: Value, transposed: boolean): Found<Weight> {
  let cur = v;
  let flipped = transposed;
  for (;;) {
    if (!readOnce(cur)) return { reason: `weight '${cur.name}' is also read elsewhere` };
    const p = cur.producer;
    if (p?.domain !== '' || (p.opType !== 'Identity' && p.opType !== 'Transpose')) break;
    if (p.opType === 'Transpose') {
      const perm = p.getInts('perm');
      if (perm && (perm.length !== 2 || perm[0] !== 1 || perm[1] !== 0)) return { reason: `weight '${cur.name}' is a Transpose that is not 2-D` };
      flipped = !flipped;
    }
    cur = p.inputs[0]!;
  }
  const tensor = constantOf(cur);
  if (!tensor) return { reason: `weight '${cur.name}' is not an initializer or a Constant` };
  if (!MERGEABLE_DTYPES.has(tensor.dtype) || !tensor.hasBytes) return { reason: `weight '${cur.name}' is not float32 or float16` };
  if (tensor.dims.length !== 2) return { reason: `weight '${cur.name}' is not 2-D` };
  const [rows, cols] = tensor.dims as [number, number];
  return { ok: { tensor, transposed: flipped, k: flipped ? cols : rows, n: flipped ? rows : cols } };
}

/**
 * A bias that adds one value per output column: dims [N], [1, ..., 1, N] or a single element. `outRank` is
 * the rank of the projection's output when known; a bias of higher rank would change the result's rank.
 */
export function columnBias(tensor: Tensor | undefined, dtype: number, n: number, outRank: number | undefined): Found<Tensor> {
  if (!tensor) return { reason: 'the bias is not constant' };
  if (tensor.dtype !== dtype || !tensor.hasBytes) return { reason: 'the bias type differs from the weight' };
  const dims = tensor.dims;
  const last = dims[dims.length - 1] ?? 1;
  if (dims.slice(0, -1).some((d) => d !== 1) || (last !== n && last !== 1)) return { reason: `bias [${dims.join(', ')}] is not one value per column of ${n}` };
  if (dims.length > 1 && (outRank === undefined || dims.length > outRank)) return { reason: `bias [${dims.join(', ')}] could change the output rank` };
  return { ok: tensor };
}

/** Bit-exact element views (NaN payloads kept). */
function elements(t: Tensor): Uint32Array | Uint16Array {
  const bytes = t.bytes();
  const copy = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  return t.dtype === DType.FLOAT16
    ? new Uint16Array(copy.buffer, copy.byteOffset, copy.byteLength / 2)
    : new Uint32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
}

function alloc(dtype: number, length: number): Uint32Array | Uint16Array {
  return dtype === DType.FLOAT16 ? new Uint16Array(length) : new Uint32Array(length);
}

/** [K, N1 + N2 + ...]: the weights side by side, transposed ones read column-wise. */
export function concatWeights(weights: readonly Weight[]): Uint8Array {
  const k = weights[0]!.k;
  const total = weights.reduce((s, w) => s + w.n, 0);
  const out = alloc(weights[0]!.tensor.dtype, k * total);
  let offset = 0;
  for (const w of weights) {
    const src = elements(w.tensor);
    for (let i = 0; i < k; i++) {
      const row = i * total + offset;
      if (!w.transposed) out.set(src.subarray(i * w.n, (i + 1) * w.n), row);
      else for (let j = 0; j < w.n; j++) out[row + j] = src[j * k + i]!;
    }
    offset += w.n;
  }
  return new Uint8Array(out.buffer);
}

/** [N1 + N2 + ...]: each bias (a single element repeated), zeros where a projection has none. */
export function concatBiases(dtype: number, parts: readonly { readonly n: number; readonly bias?: Tensor }[]): Uint8Array {
  const out = alloc(dtype, parts.reduce((s, p) => s + p.n, 0));
  let offset = 0;
  for (const p of parts) {
    if (p.bias) {
      const src = elements(p.bias);
      if (src.length === 1) out.fill(src[0]!, offset, offset + p.n);
      else out.set(src, offset);
    }
    offset += p.n;
  }
  return new Uint8Array(out.buffer);
}
