/** Reads a model file (and its external data, lazily) into the IR, with one clear error per problem. */
import fs from 'node:fs';
import path from 'node:path';
import { decodeModel } from '../onnx/decode.js';
import { ExternalFiles, ExternalFileSource, parseExternalData, resolveLocation } from '../onnx/external-data.js';
import { modelFromProto } from '../ir/from-proto.js';
import { byteLength, elementCount } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { TensorProto } from '../onnx/proto.js';
import { FileError, LlmoptError, ModelFormatError } from '../errors.js';

/** Files a loaded model reads from: the model file and its external data files. */
export const sourceFilesOf = new WeakMap<Model, readonly string[]>();

export interface LoadOptions {
  /** Refuse model files larger than this (untrusted input can expand enormously in memory). */
  readonly maxFileBytes?: number;
}

export function loadModel(file: string, options: LoadOptions = {}): Model {
  const full = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    throw new FileError(`${file}: no such file`);
  }
  if (stat.isDirectory()) throw new FileError(`${file}: is a folder, not a model file`);
  const limit = options.maxFileBytes ?? 2 ** 31;
  if (stat.size > limit) {
    throw new ModelFormatError(`${file}: ${stat.size} bytes is larger than a single protobuf file can be (${limit}); use external data`);
  }
  const bytes = readFile(full, file);
  return modelFromBytes(bytes, { what: file, baseDir: path.dirname(full), file: full });
}

export interface FromBytesOptions {
  readonly what?: string;
  /** Folder that external-data locations are relative to. */
  readonly baseDir?: string;
  readonly file?: string;
}

export function modelFromBytes(bytes: Uint8Array, options: FromBytesOptions = {}): Model {
  const what = options.what ?? 'model';
  const proto = decodeModel(bytes, what);
  const files = new ExternalFiles();
  const used = new Set<string>();
  const resolveExternal = (tp: TensorProto) => {
    if (!options.baseDir) throw new ModelFormatError(`${what}: tensor '${tp.name ?? ''}' uses external data but the model has no folder`);
    const ref = parseExternalData(tp, what);
    const target = resolveLocation(ref.location, options.baseDir, what);
    const expected = byteLength(tp.data_type ?? 0, elementCount((tp.dims ?? []).map((d) => Number(d.toString()))));
    const length = ref.length ?? expected;
    if (length !== expected) {
      throw new ModelFormatError(`${what}: tensor '${tp.name ?? ''}' has external length ${length}, its shape needs ${expected} bytes`);
    }
    const size = files.size(target, what);
    if (ref.offset + length > size) {
      throw new ModelFormatError(`${what}: tensor '${tp.name ?? ''}' reads past the end of '${ref.location}' (${ref.offset}+${length} > ${size})`);
    }
    used.add(target);
    return new ExternalFileSource(files, target, { location: ref.location, offset: ref.offset, length });
  };
  try {
    const model = modelFromProto(proto, { resolveExternal, baseDir: options.baseDir });
    sourceFilesOf.set(model, options.file ? [options.file, ...used] : [...used]);
    return model;
  } catch (err) {
    const reason = err instanceof LlmoptError || err instanceof Error ? err.message : String(err);
    // Anything else thrown while reading a decoded message means the message is malformed.
    const message = !(err instanceof ModelFormatError) ? `${what}: malformed model (${reason})`
      : reason.startsWith(`${what}:`) ? reason : `${what}: ${reason}`;
    const shown = printable(message);
    throw err instanceof ModelFormatError && shown === reason ? err : new ModelFormatError(shown, { cause: err });
  }
}

/** Names in a corrupt file may hold any character: escape controls so a message stays one plain line. */
function printable(message: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function readFile(full: string, shown: string): Uint8Array {
  try {
    return fs.readFileSync(full);
  } catch (err) {
    throw new FileError(`${shown}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
}
