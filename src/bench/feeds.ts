/**
 * Inputs for one benchmark run, built from a model's interface by role: token ids (seeded, below the
 * vocabulary), attention mask of ones over past + new tokens, positions continuing after the past, token
 * types 0, an empty key/value cache (or the one given), other inputs standard normal or zero.
 */
import { DType, dtypeName, elementCount } from '../ir/dtype.js';
import { mulberry32 } from '../runtime/feeds.js';
import type { Feeds, HostTensor } from '../runtime/tensors.js';
import type { Dim, InputSpec, ModelIo } from './model-io.js';
import { ConfigError } from '../errors.js';

export interface FeedShape {
  readonly batch: number;
  /** New tokens in this run. */
  readonly seq: number;
  /** Tokens already in the cache (0 without one). */
  readonly pastLength?: number;
}

export interface FeedSources {
  /** Token ids [batch, seq], row-major; random when absent. */
  readonly ids?: BigInt64Array;
  /** Cache tensors by past input name; empty caches when absent. */
  readonly past?: ReadonlyMap<string, HostTensor>;
  readonly seed?: number;
}

export function makeFeeds(io: ModelIo, shape: FeedShape, sources: FeedSources = {}): Feeds {
  const feeds: Record<string, HostTensor> = {};
  const rand = mulberry32(sources.seed ?? 0);
  const ids = sources.ids ?? randomIds(shape, io.vocab, rand);
  for (const input of io.inputs) feeds[input.name] = sources.past?.get(input.name) ?? feedFor(input, io, shape, ids, rand);
  return feeds;
}

/** Seeded token ids [batch, seq] in [0, vocab). */
export function randomIds(shape: FeedShape, vocab: number, rand = mulberry32(0)): BigInt64Array {
  const ids = new BigInt64Array(shape.batch * shape.seq);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt(Math.floor(rand() * vocab));
  return ids;
}

function feedFor(input: InputSpec, io: ModelIo, shape: FeedShape, ids: BigInt64Array, rand: () => number): HostTensor {
  const { batch, seq } = shape;
  const past = shape.pastLength ?? 0;
  switch (input.role) {
    case 'ids':
      return integers(input, [batch, seq], (i) => ids[i]!);
    case 'mask':
      return integers(input, dimsOf(input, batch, past + seq, past + seq), () => 1n);
    case 'positions':
      return integers(input, dimsOf(input, batch, seq, seq), (i, dims) => BigInt(past + (i % dims[dims.length - 1]!)));
    case 'token-types':
      return integers(input, dimsOf(input, batch, seq, seq), () => 0n);
    case 'cache-branch':
      return { dtype: DType.BOOL, dims: (input.shape ?? [1]).map((d) => (typeof d === 'number' ? d : 1)), data: Uint8Array.of(past > 0 ? 1 : 0) };
    case 'past':
      return emptyCache(input, io, batch);
    case 'other':
      return filler(input, dimsOf(input, batch, seq, seq), rand);
  }
}

/** Declared dims where fixed; symbolic ones: batch first, `last` at the end, `middle` elsewhere. */
function dimsOf(input: InputSpec, batch: number, last: number, middle: number): number[] {
  const shape: readonly Dim[] = input.shape ?? [null, null];
  return shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? batch : i === shape.length - 1 ? last : middle));
}

function integers(input: InputSpec, dims: number[], value: (i: number, dims: number[]) => bigint): HostTensor {
  const n = elementCount(dims);
  if (input.dtype === DType.INT32) return { dtype: DType.INT32, dims, data: Int32Array.from({ length: n }, (_, i) => Number(value(i, dims))) };
  const data = new BigInt64Array(n);
  for (let i = 0; i < n; i++) data[i] = value(i, dims);
  return { dtype: DType.INT64, dims, data };
}

function emptyCache(input: InputSpec, io: ModelIo, batch: number): HostTensor {
  const axis = io.cache.find((c) => c.past === input.name)?.axis ?? -1;
  const dims = (input.shape ?? []).map((d, i) => {
    if (i === axis) return 0;
    if (typeof d === 'number') return d;
    if (i === 0) return batch;
    throw new ConfigError(`cache input '${input.name}' has no fixed size at axis ${i} ('${d ?? '?'}'): cannot build an empty cache`);
  });
  return { dtype: input.dtype, dims, data: typedArray(input, 0) };
}

function filler(input: InputSpec, dims: number[], rand: () => number): HostTensor {
  const n = elementCount(dims);
  const data = typedArray(input, n);
  if (data instanceof Float32Array || data instanceof Float64Array) {
    for (let i = 0; i < n; i++) data[i] = Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
  }
  return { dtype: input.dtype, dims, data };
}

function typedArray(input: InputSpec, n: number): HostTensor['data'] {
  switch (input.dtype) {
    case DType.FLOAT: return new Float32Array(n);
    case DType.DOUBLE: return new Float64Array(n);
    case DType.FLOAT16: case DType.BFLOAT16: return new Uint16Array(n);
    case DType.INT64: return new BigInt64Array(n);
    case DType.INT32: return new Int32Array(n);
    case DType.BOOL: case DType.UINT8: return new Uint8Array(n);
    case DType.INT8: return new Int8Array(n);
    default: throw new ConfigError(`input '${input.name}': cannot make ${dtypeName(input.dtype)} data for a benchmark`);
  }
}
