/**
 * Synthetic inputs for checks: shapes from the graph inputs (symbolic dims from a map, else a default),
 * token ids bounded by the embedding table they index, masks all ones, floats standard normal. Seeded.
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { DType, dtypeName, elementCount } from '../ir/dtype.js';
import type { Feeds, HostTensor } from './tensors.js';
import { RuntimeError } from '../errors.js';

export interface FeedOptions {
  readonly seed?: number;
  /** Sizes for symbolic dims by name (e.g. { batch: 2, sequence: 16 }). */
  readonly dims?: Readonly<Record<string, number>>;
  /** Size of unknown dims not in `dims`. */
  readonly defaultDim?: number;
}

export function randomFeeds(model: Model, options: FeedOptions = {}): Feeds {
  const rand = mulberry32(options.seed ?? 0);
  const feeds: Record<string, HostTensor> = {};
  for (const input of model.graph.inputs) {
    if (input.initializer) continue;
    const type = input.type;
    if (!type) throw new RuntimeError(`input '${input.name}' has no tensor type`);
    const dims = (type.shape ?? []).map((d) => (typeof d === 'number' ? d : (typeof d === 'string' ? options.dims?.[d] : undefined) ?? options.defaultDim ?? 4));
    feeds[input.name] = randomTensor(input, type.elemType, dims, rand);
  }
  return feeds;
}

function randomTensor(input: Value, dtype: number, dims: number[], rand: () => number): HostTensor {
  const n = elementCount(dims);
  switch (dtype) {
    case DType.FLOAT: {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = gaussian(rand);
      return { dtype, dims, data };
    }
    case DType.INT64: case DType.INT32: {
      const mask = /mask/i.test(input.name);
      const bound = mask ? 1 : indexBound(input) ?? 16;
      const values = Array.from({ length: n }, () => (mask ? 1 : Math.floor(rand() * bound)));
      const data = dtype === DType.INT64 ? BigInt64Array.from(values, BigInt) : Int32Array.from(values);
      return { dtype, dims, data };
    }
    case DType.BOOL: {
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) data[i] = rand() < 0.5 ? 1 : 0;
      return { dtype, dims, data };
    }
    default:
      throw new RuntimeError(`input '${input.name}': cannot synthesise ${dtypeName(dtype)} data`);
  }
}

/** Rows of the smallest table this value indexes through Gather (an embedding), if any. */
function indexBound(v: Value): number | undefined {
  let bound: number | undefined;
  for (const use of v.uses) {
    const n = use.node;
    if (n.opType !== 'Gather' || use.index !== 1) continue;
    const table = n.inputs[0]?.initializer;
    const axis = n.getInt('axis', 0);
    const rows = table?.dims[axis < 0 ? table.dims.length + axis : axis];
    if (rows !== undefined) bound = Math.min(bound ?? rows, rows);
  }
  return bound;
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
