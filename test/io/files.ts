/** Small models and folders for the external-data tests: built by hand so every placement is deliberate. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeMessage } from '../../src/onnx/encode.js';
import type { StringStringEntryProto, TensorProto, ValueInfoProto } from '../../src/onnx/proto.js';
import { DType } from '../../src/ir/dtype.js';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { mulberry32 } from '../../src/runtime/feeds.js';
import { ModelFormatError } from '../../src/errors.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `llmopt-${prefix}-`));
}

/** Reproducible float32 values in [-0.5, 0.5), as bytes. */
export function floatBytes(count: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const data = Float32Array.from({ length: count }, () => rand() - 0.5);
  return new Uint8Array(data.buffer);
}

const floatInfo = (name: string, dims: number[]): ValueInfoProto => ({
  name, type: { tensor_type: { elem_type: DType.FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
});

/** Where one float32 weight of the chain lives in a hand-written model. */
export interface Placement {
  /** Data file, relative to the model's folder; undefined keeps the bytes inline. */
  readonly location?: string;
  readonly offset?: number;
  /** Written as the `length` key unless false (then the reader infers it from the shape). */
  readonly withLength?: boolean;
  /** Extra keys (`checksum`, unknown ones) the reader must ignore. */
  readonly extra?: readonly StringStringEntryProto[];
  /** False: only name the location; write no bytes there (for locations that must be refused). */
  readonly write?: boolean;
}

/** The two weights of `x[1,4] -> MatMul w1[4,8] -> MatMul w2[8,3] -> y[1,3]`. */
export const CHAIN = { w1: { dims: [4, 8], bytes: floatBytes(32, 1) }, w2: { dims: [8, 3], bytes: floatBytes(24, 2) } } as const;

/**
 * Writes `model.onnx` in `dir` with the chain's weights placed as told, and the data files they name
 * (created as needed, bytes at their offsets, zeros between). Returns the model's path.
 */
export function writeChain(dir: string, placements: { readonly w1: Placement; readonly w2: Placement }, name = 'model.onnx'): string {
  const initializer = (['w1', 'w2'] as const).map((key): TensorProto => {
    const { dims, bytes } = CHAIN[key];
    const p = placements[key];
    if (p.location === undefined) return { name: key, data_type: DType.FLOAT, dims: [...dims], raw_data: bytes };
    if (p.write !== false) {
      const file = path.join(dir, p.location);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w');
      fs.writeSync(fd, bytes, 0, bytes.byteLength, p.offset ?? 0);
      fs.closeSync(fd);
    }
    const entries: StringStringEntryProto[] = [{ key: 'location', value: p.location }];
    if (p.offset !== undefined) entries.push({ key: 'offset', value: String(p.offset) });
    if (p.withLength !== false) entries.push({ key: 'length', value: String(bytes.byteLength) });
    return { name: key, data_type: DType.FLOAT, dims: [...dims], data_location: 1, external_data: [...entries, ...(p.extra ?? [])] };
  });
  const file = path.join(dir, name);
  fs.writeFileSync(file, encodeMessage('ModelProto', {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'chain',
      node: [
        { op_type: 'MatMul', input: ['x', 'w1'], output: ['h'], name: 'mm1' },
        { op_type: 'MatMul', input: ['h', 'w2'], output: ['y'], name: 'mm2' },
      ],
      initializer,
      input: [floatInfo('x', [1, 4])],
      output: [floatInfo('y', [1, 3])],
    },
  }));
  return file;
}

/**
 * A decoder-like stack built in the IR: `layers` blocks of MatMul(up) -> Relu -> MatMul(down) -> Add
 * (residual) -> Mul(scale), so weights range from 32 bytes (scales) to a few KB.
 */
export function decoderStack(layers = 3, hidden = 16): Model {
  const model = new Model('stack');
  model.irVersion = 8;
  model.opsetImports = [{ domain: '', version: 17 }];
  const g = model.graph;
  const weight = (hint: string, dims: number[], seed: number) => {
    const count = dims.reduce((a, b) => a * b, 1);
    return g.addConstant(hint, Tensor.fromBytes(hint, DType.FLOAT, dims, floatBytes(count, seed)));
  };
  let h = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', hidden] });
  for (let i = 0; i < layers; i++) {
    const up = g.addNode({ opType: 'MatMul', inputs: [h, weight(`up${i}`, [hidden, hidden * 4], 10 * i + 1)] }).output(0);
    const act = g.addNode({ opType: 'Relu', inputs: [up] }).output(0);
    const down = g.addNode({ opType: 'MatMul', inputs: [act, weight(`down${i}`, [hidden * 4, hidden], 10 * i + 2)] }).output(0);
    const sum = g.addNode({ opType: 'Add', inputs: [h, down] }).output(0);
    h = g.addNode({ opType: 'Mul', inputs: [sum, weight(`scale${i}`, [hidden], 10 * i + 3)], outputs: i === layers - 1 ? ['y'] : 1 }).output(0);
  }
  h.type = { elemType: DType.FLOAT, shape: ['batch', hidden] };
  g.outputs.push(h);
  return model;
}

/** Throws a ModelFormatError whose message is one plain line starting with `file` and matching `pattern`. */
export function assertFormatError(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ModelFormatError, `expected ModelFormatError, got ${(err as Error).name}: ${(err as Error).message}`);
    assert.ok(err.message.startsWith(`${file}: `), `message names the model file: ${err.message}`);
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /[\n\r]/);
    return true;
  });
}

/** Temporary files a failed or finished save may have left behind. */
export function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
}
