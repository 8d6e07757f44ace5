/** Bytes -> ModelProto / TensorProto, with codec errors turned into one clear ModelFormatError. */
import protobuf from 'protobufjs';
import { ModelProtoType, lookupType } from './schema.js';
import type { ModelProto, TensorProto } from './proto.js';
import { ModelFormatError } from '../errors.js';
import { has } from './presence.js';

/** Newest IR version this build understands (ONNX 1.20: IR 13). */
export const MAX_IR_VERSION = 13;

function decodeWith<T>(typeName: string, bytes: Uint8Array, what: string): T {
  const type = typeName === 'ModelProto' ? ModelProtoType : lookupType(typeName);
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false; // unknown fields are carried through to the output
  try {
    return type.decode(reader) as unknown as T;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ModelFormatError(`${what}: not a valid ONNX ${typeName} (${reason})`, { cause: err });
  }
}

/** Decodes and sanity-checks a model file's bytes; `what` names the file in messages. */
export function decodeModel(bytes: Uint8Array, what: string): ModelProto {
  if (bytes.byteLength === 0) throw new ModelFormatError(`${what}: the file is empty`);
  const model = decodeWith<ModelProto>('ModelProto', bytes, what);
  // Truncation at a field boundary or a non-ONNX file often decodes "successfully": validate the result.
  const ir = has(model, 'ir_version') ? Number(model.ir_version!.toString()) : undefined;
  if (ir === undefined || !model.graph) {
    throw new ModelFormatError(`${what}: not an ONNX model (no ${ir === undefined ? 'IR version' : 'graph'}; truncated or another format?)`);
  }
  if (ir < 1) throw new ModelFormatError(`${what}: invalid IR version ${ir}`);
  if (ir > MAX_IR_VERSION) {
    throw new ModelFormatError(`${what}: IR version ${ir} is newer than supported (up to ${MAX_IR_VERSION}); upgrade llmopt`);
  }
  return model;
}

export function decodeTensor(bytes: Uint8Array, what: string): TensorProto {
  return decodeWith<TensorProto>('TensorProto', bytes, what);
}

/** Decodes any schema message by name (test data containers: SequenceProto, OptionalProto, MapProto). */
export function decodeMessage<T>(typeName: string, bytes: Uint8Array, what: string): T {
  return decodeWith<T>(typeName, bytes, what);
}
