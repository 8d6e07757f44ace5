/**
 * Runs parts of a model on small synthetic inputs to learn how they behave: every graph input gets data
 * of the requested batch and sequence sizes (token ids within their embedding tables), with chosen inputs
 * replaced by random 0/1 patterns (candidate padding masks).
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';
import { mulberry32, randomFeeds } from '../runtime/feeds.js';
import type { Feeds, HostTensor } from '../runtime/tensors.js';
import { evaluate } from './evaluate.js';

export interface ProbeSize {
  readonly batch: number;
  readonly sequence: number;
}

export interface ProbeResult {
  readonly feeds: Feeds;
  readonly values: Record<string, HostTensor>;
}

/**
 * Graph inputs whose data (not only their shape) reaches `v`: the walk stops at Shape and Size, which read
 * nothing but the shape.
 */
export function dataInputs(v: Value): Value[] {
  const found = new Set<Value>();
  const seen = new Set<Value>();
  const stack = [v];
  while (stack.length) {
    const cur = stack.pop()!;
    if (seen.has(cur)) continue;
    seen.add(cur);
    if (cur.isGraphInput && !cur.initializer) found.add(cur);
    const p = cur.producer;
    if (!p || (p.domain === '' && (p.opType === 'Shape' || p.opType === 'Size'))) continue;
    for (const x of p.inputs) if (x) stack.push(x);
    for (const g of p.subgraphs()) for (const n of g.allNodes()) for (const x of n.inputs) if (x && x.graph !== g) stack.push(x);
  }
  return [...found];
}

/** [batch, sequence] integer or boolean input: what an attention mask input looks like. */
export function isMaskLike(input: Value, dims: { batchDim: string; seqDim: string }): boolean {
  const shape = input.type?.shape;
  const dtype = input.type?.elemType;
  return !!shape && shape.length === 2 && shape[0] === dims.batchDim && shape[1] === dims.seqDim
    && (dtype === DType.INT64 || dtype === DType.INT32 || dtype === DType.BOOL);
}

/**
 * Evaluates `values` with inputs of the given size; dims named `batchDim` / `seqDim` take the sizes. The
 * `zeroOne` inputs get random 0/1 rows (each with at least one 1), the others random in-range data.
 */
export async function probe(model: Model, values: readonly Value[], dims: { batchDim: string; seqDim: string }, size: ProbeSize, seed: number, zeroOne: readonly Value[] = []): Promise<ProbeResult> {
  const feeds: Record<string, HostTensor> = { ...randomFeeds(model, { dims: { [dims.batchDim]: size.batch, [dims.seqDim]: size.sequence }, defaultDim: size.sequence, seed }) };
  const rand = mulberry32(seed + 7);
  for (const input of zeroOne) feeds[input.name] = zeroOneRows(input.type!.elemType, size, rand);
  return { feeds, values: await evaluate(model, values, feeds) };
}

function zeroOneRows(dtype: number, size: ProbeSize, rand: () => number): HostTensor {
  const n = size.batch * size.sequence;
  const bits = Array.from({ length: n }, () => (rand() < 0.6 ? 1 : 0));
  for (let b = 0; b < size.batch; b++) bits[b * size.sequence + Math.floor(rand() * size.sequence)] = 1;
  const data = dtype === DType.INT64 ? BigInt64Array.from(bits, BigInt) : dtype === DType.INT32 ? Int32Array.from(bits) : Uint8Array.from(bits);
  return { dtype, dims: [size.batch, size.sequence], data };
}

/** Element reader with broadcasting of a [.., ..] tensor against a rank-`rank` index. */
export function reader(t: HostTensor, rank: number): (index: readonly number[]) => number {
  const dims = [...Array(Math.max(0, rank - t.dims.length)).fill(1), ...t.dims] as number[];
  const data = t.data as ArrayLike<number | bigint>;
  return (index) => {
    let flat = 0;
    for (let i = 0; i < rank; i++) flat = flat * dims[i]! + (dims[i] === 1 ? 0 : index[i]!);
    return Number(data[flat]);
  };
}
