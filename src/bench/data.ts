/**
 * Evaluation data for a benchmark: token ids [rows, seq] (.npy), or arrays by input name (.npz, .jsonl,
 * read and checked by src/data), plus masked-LM labels (.npy, -100 = not scored) of the same shape.
 */
import path from 'node:path';
import type { Model } from '../ir/model.js';
import { DType, dtypeName } from '../ir/dtype.js';
import { readDataset } from '../data/dataset.js';
import { readNpy } from '../runtime/npy.js';
import type { HostTensor } from '../runtime/tensors.js';
import type { ModelIo } from './model-io.js';
import { ConfigError } from '../errors.js';

export interface BenchData {
  readonly source: string;
  /** int64 [rows, seq]. */
  readonly ids: HostTensor;
  /** Other arrays given by input name, each [rows, …]. */
  readonly extra: ReadonlyMap<string, HostTensor>;
  readonly labels?: HostTensor;
  readonly rows: number;
}

export function readBenchData(file: string, model: Model, io: ModelIo, labelsFile?: string): BenchData {
  const idsName = io.inputs.find((i) => i.role === 'ids')?.name;
  if (!idsName) throw new ConfigError(`${file}: the model has no token-id input to feed data to`);
  let arrays: ReadonlyMap<string, HostTensor>;
  if (path.extname(file).toLowerCase() === '.npy') arrays = new Map([[idsName, readNpy(file)]]);
  else arrays = readDataset(file, model).arrays;
  const ids = arrays.get(idsName);
  if (!ids) throw new ConfigError(`${file}: no array for the token input '${idsName}'`);
  if (ids.dtype !== DType.INT64 || ids.dims.length !== 2) {
    throw new ConfigError(`${file}: token ids must be int64 [rows, sequence], got ${dtypeName(ids.dtype)} [${ids.dims.join(', ')}]`);
  }
  const labels = labelsFile ? readNpy(labelsFile) : undefined;
  if (labels && (labels.dtype !== DType.INT64 || labels.dims.join() !== ids.dims.join())) {
    throw new ConfigError(`${labelsFile}: labels must be int64 of the ids' shape [${ids.dims.join(', ')}], got ${dtypeName(labels.dtype)} [${labels.dims.join(', ')}]`);
  }
  const extra = new Map([...arrays].filter(([name]) => name !== idsName));
  return { source: file, ids, extra, labels, rows: ids.dims[0]! };
}

/** Rows [start, start + count) of an array [rows, …]. */
export function rowsOf(t: HostTensor, start: number, count: number): HostTensor {
  const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = (t.data as BigInt64Array).subarray(start * per, (start + count) * per);
  return { dtype: t.dtype, dims: [count, ...t.dims.slice(1)], data };
}
