/**
 * The ONNX backend test data (Debian package libonnx-testdata): finding its models, reading each
 * test_data_set_N folder with the message type its graph declares, and turning tensor inputs into feeds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeMessage } from '../../src/onnx/decode.js';
import type { ModelProto, TensorProto, TypeProto, ValueInfoProto } from '../../src/onnx/proto.js';
import { typedFieldSource } from '../../src/ir/typed-fields.js';
import { InlineBytes, Tensor } from '../../src/ir/tensor.js';
import { DType, dtypeName, ortTypeName } from '../../src/ir/dtype.js';
import { toNumber } from '../../src/ir/long.js';
import { has } from '../../src/onnx/presence.js';
import type { Feeds, HostTensor } from '../../src/runtime/tensors.js';

export const BACKEND_DATA = '/usr/share/libonnx-testdata/data';
const INSTALL = 'apt-get install -y libonnx-testdata';

export const backendDataPresent = fs.existsSync(path.join(BACKEND_DATA, 'node'));

/**
 * node:test `skip` value: a reason when the data is absent and LLMOPT_SKIP_BACKEND_DATA=1 says that is
 * fine; false otherwise (then `requireBackendData` fails the test with the install command).
 */
export const skipBackendData: string | false = !backendDataPresent && process.env.LLMOPT_SKIP_BACKEND_DATA === '1'
  ? `no ONNX backend test data at ${BACKEND_DATA} (LLMOPT_SKIP_BACKEND_DATA=1)`
  : false;

/** Throws (failing the test) when the data is missing: its absence must not pass silently. */
export function requireBackendData(): string {
  if (!backendDataPresent) {
    throw new Error(`ONNX backend test data not found at ${BACKEND_DATA}: run \`${INSTALL}\` (or set LLMOPT_SKIP_BACKEND_DATA=1 to skip these tests)`);
  }
  return BACKEND_DATA;
}

/** Every model.onnx below `root`, sorted (stable order for counts and messages). */
export function findModels(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.onnx')) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/** Numeric suffix of `input_12.pb`, `test_data_set_3`. */
const indexOf = (name: string): number => Number(/_(\d+)(\.pb)?$/.exec(name)?.[1] ?? NaN);
const byIndex = (a: string, b: string) => indexOf(a) - indexOf(b);

/** test_data_set_N folders next to a model, in N order. */
export function dataSetDirs(modelFile: string): string[] {
  const dir = path.dirname(modelFile);
  return fs.readdirSync(dir).filter((n) => /^test_data_set_\d+$/.test(n)).sort(byIndex).map((n) => path.join(dir, n));
}

export interface DataFile {
  readonly file: string;
  /** The onnx-data message the file holds. */
  readonly typeName: MessageTypeName;
  /** The graph input or output it belongs to (undefined when there are more files than declarations). */
  readonly decl: ValueInfoProto | undefined;
}

export type MessageTypeName = 'TensorProto' | 'SequenceProto' | 'OptionalProto' | 'MapProto' | 'SparseTensorProto';

/** Which message a value of this type is stored as in a .pb file. */
export function messageTypeFor(type: TypeProto | undefined): MessageTypeName {
  if (type?.sequence_type) return 'SequenceProto';
  if (type?.optional_type) return 'OptionalProto';
  if (type?.map_type) return 'MapProto';
  if (type?.sparse_tensor_type) return 'SparseTensorProto';
  return 'TensorProto';
}

/** Graph inputs a caller must feed: declared inputs that no (sparse) initializer fills. */
export function runtimeInputs(model: ModelProto): ValueInfoProto[] {
  const g = model.graph ?? {};
  const filled = new Set([
    ...(g.initializer ?? []).map((t) => t.name ?? ''),
    ...(g.sparse_initializer ?? []).map((s) => s.values?.name ?? ''),
  ]);
  return (g.input ?? []).filter((vi) => !filled.has(vi.name ?? ''));
}

/** The input_N.pb / output_N.pb files of one data set, each with its message type. */
export function dataSetFiles(model: ModelProto, dir: string): { inputs: DataFile[]; outputs: DataFile[] } {
  const files = fs.readdirSync(dir);
  const list = (prefix: string, decls: readonly ValueInfoProto[]): DataFile[] =>
    files.filter((n) => n.startsWith(prefix) && n.endsWith('.pb')).sort(byIndex).map((n) => {
      const decl = decls[indexOf(n)];
      return { file: path.join(dir, n), typeName: messageTypeFor(decl?.type), decl };
    });
  return { inputs: list('input_', runtimeInputs(model)), outputs: list('output_', model.graph?.output ?? []) };
}

/** Feeds for one data set, or (a string) why it cannot be fed to onnxruntime-node: a non-tensor or unsupported type. */
export function readFeeds(model: ModelProto, dir: string): Feeds | string {
  const feeds: Record<string, HostTensor> = {};
  for (const f of dataSetFiles(model, dir).inputs) {
    if (f.typeName !== 'TensorProto') return `${f.typeName} input`;
    const name = f.decl?.name;
    if (name === undefined) return `${path.basename(f.file)} matches no graph input`;
    const tp = decodeMessage<TensorProto>('TensorProto', fs.readFileSync(f.file), f.file);
    const host = hostTensor(tp);
    if (typeof host === 'string') return host;
    feeds[name] = host;
  }
  return feeds;
}

/** A TensorProto as an onnxruntime-node input, or the reason it cannot be one. */
export function hostTensor(tp: TensorProto): HostTensor | string {
  const dtype = tp.data_type ?? 0;
  const dims = (tp.dims ?? []).map((d) => toNumber(d));
  if (!ortTypeName(dtype) || dtype === DType.INT4 || dtype === DType.UINT4) return `${dtypeName(dtype)} input`;
  if (dtype === DType.STRING) {
    return { dtype, dims, data: (tp.string_data ?? []).map((b) => Buffer.from(b).toString('utf8')) };
  }
  const source = has(tp, 'raw_data') ? new InlineBytes(tp.raw_data!) : typedFieldSource(tp, dtype, dims);
  // A copy: the decoded bytes are a view into the file buffer, possibly misaligned.
  return { dtype, dims, data: new Tensor(tp.name ?? '', dtype, dims, source).toTyped().slice() };
}
