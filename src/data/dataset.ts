/**
 * Input data for calibration and evaluation: .npy (one array, for the model's token input), .npz (arrays
 * named after inputs) or .jsonl (one object of input name -> nested array per line). Rows are batched along
 * the first axis; inputs the data does not give are filled the way tokenizers do (mask 1, token type 0,
 * positions 0..n-1). Names, dtypes and shapes are checked against the model before any run.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { DType, dtypeName, elementCount } from '../ir/dtype.js';
import type { Feeds, HostTensor } from '../runtime/tensors.js';
import { readNpy } from '../runtime/npy.js';
import { readNpz } from './npz.js';
import { ConfigError } from '../errors.js';

export interface Dataset {
  /** Arrays by input name, each [rows, ...]. */
  readonly arrays: ReadonlyMap<string, HostTensor>;
  readonly rows: number;
  readonly source: string;
}

export function readDataset(file: string, model: Model): Dataset {
  const ext = path.extname(file).toLowerCase();
  if (!fs.existsSync(file)) throw new ConfigError(`${file}: no such data file`);
  let arrays: Map<string, HostTensor>;
  if (ext === '.npy') {
    const inputs = dataInputs(model);
    const target = inputs.find((v) => /input_ids|ids|tokens/i.test(v.name)) ?? inputs[0];
    if (!target) throw new ConfigError(`${file}: the model has no inputs to feed`);
    arrays = new Map([[target.name, readNpy(file)]]);
  } else if (ext === '.npz') {
    arrays = readNpz(file);
  } else if (ext === '.jsonl') {
    arrays = readJsonl(file, model);
  } else {
    throw new ConfigError(`${file}: unsupported data format '${ext}' (use .npy, .npz or .jsonl)`);
  }
  return checkDataset({ arrays, rows: 0, source: file }, model);
}

function dataInputs(model: Model): Value[] {
  return model.graph.inputs.filter((v) => !v.initializer);
}

function checkDataset(data: Dataset, model: Model): Dataset {
  const inputs = new Map(dataInputs(model).map((v) => [v.name, v]));
  let rows = -1;
  for (const [name, array] of data.arrays) {
    const input = inputs.get(name);
    if (!input) throw new ConfigError(`${data.source}: array '${name}' matches no model input (inputs: ${[...inputs.keys()].join(', ')})`);
    const type = input.type;
    if (type && type.elemType !== array.dtype) {
      throw new ConfigError(`${data.source}: '${name}' is ${dtypeName(array.dtype)}, the model expects ${dtypeName(type.elemType)}`);
    }
    if (type?.shape && type.shape.length !== array.dims.length) {
      throw new ConfigError(`${data.source}: '${name}' has rank ${array.dims.length}, the model expects rank ${type.shape.length}`);
    }
    type?.shape?.forEach((d, i) => {
      if (i > 0 && typeof d === 'number' && d !== array.dims[i]) {
        throw new ConfigError(`${data.source}: '${name}' dimension ${i} is ${array.dims[i]}, the model expects ${d}`);
      }
    });
    if (rows >= 0 && array.dims[0] !== rows) throw new ConfigError(`${data.source}: arrays have different row counts`);
    rows = array.dims[0] ?? 0;
  }
  if (rows <= 0) throw new ConfigError(`${data.source}: the data set is empty`);
  for (const [name, input] of inputs) {
    if (!data.arrays.has(name) && !fillable(name)) throw new ConfigError(`${data.source}: no data for model input '${name}'`);
    void input;
  }
  return { ...data, rows };
}

function fillable(name: string): boolean {
  return /mask|token_type|segment|position/i.test(name);
}

/** Feeds for rows [start, start+count): given arrays sliced, the rest filled. */
export function batchFeeds(data: Dataset, model: Model, start: number, count: number): Feeds {
  const feeds: Record<string, HostTensor> = {};
  let shape: number[] = [count];
  for (const [name, a] of data.arrays) {
    const per = elementCount(a.dims.slice(1));
    const slice = (a.data as { subarray(s: number, e: number): HostTensor['data'] }).subarray(start * per, (start + count) * per);
    feeds[name] = { dtype: a.dtype, dims: [count, ...a.dims.slice(1)], data: slice };
    shape = [count, ...a.dims.slice(1)];
  }
  for (const input of dataInputs(model)) {
    if (feeds[input.name]) continue;
    feeds[input.name] = filled(input, shape);
  }
  return feeds;
}

function filled(input: Value, shape: number[]): HostTensor {
  const dims = shape.slice(0, input.type?.shape?.length ?? 2);
  const n = elementCount(dims);
  const data = new BigInt64Array(n);
  if (/mask/i.test(input.name)) data.fill(1n);
  else if (/position/i.test(input.name)) for (let i = 0; i < n; i++) data[i] = BigInt(i % (dims[dims.length - 1] ?? 1));
  if (input.type && input.type.elemType !== DType.INT64) throw new ConfigError(`cannot fill input '${input.name}' of type ${dtypeName(input.type.elemType)}; give it in the data`);
  return { dtype: DType.INT64, dims, data };
}

function readJsonl(file: string, model: Model): Map<string, HostTensor> {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const columns = new Map<string, number[][]>();
  lines.forEach((line, i) => {
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new ConfigError(`${file}:${i + 1}: not valid JSON`);
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new ConfigError(`${file}:${i + 1}: each line must be an object of input name -> array`);
    for (const [name, value] of Object.entries(row)) {
      const flat = (value as unknown[]).flat(Infinity) as number[];
      (columns.get(name) ?? columns.set(name, []).get(name)!).push(flat);
    }
  });
  const inputs = new Map(dataInputs(model).map((v) => [v.name, v]));
  const out = new Map<string, HostTensor>();
  for (const [name, rows] of columns) {
    const width = rows[0]!.length;
    if (rows.some((r) => r.length !== width)) throw new ConfigError(`${file}: rows of '${name}' have different lengths`);
    const dtype = inputs.get(name)?.type?.elemType ?? DType.INT64;
    const flat = rows.flat();
    const data = dtype === DType.INT64 ? BigInt64Array.from(flat, (v) => BigInt(Math.trunc(v))) : dtype === DType.INT32 ? Int32Array.from(flat) : Float32Array.from(flat);
    out.set(name, { dtype, dims: [rows.length, width], data });
  }
  return out;
}
