/**
 * ModelProto -> bytes. `encodeMessage` is the in-memory path (small models, sessions from bytes).
 * `encodeChunks` is the streaming path: it lays the model out as a list of pieces where the bytes of large
 * tensors are not copied but referenced, so the writer can stream them straight to the file.
 */
import protobuf from 'protobufjs';
import { ModelProtoType, GraphProtoType, TensorProtoType, lookupType } from './schema.js';
import type { GraphProto, ModelProto, TensorProto } from './proto.js';

/** Bytes supplied at write time instead of TensorProto.raw_data (streamed, never held whole). */
export interface StreamedBytes {
  readonly byteLength: number;
  chunks(chunk: number): Iterable<Uint8Array>;
}

/** raw_data of these tensor messages comes from a streamed source. */
export const streamedRawData = new WeakMap<TensorProto, StreamedBytes>();

export function encodeMessage(typeName: string, message: object): Uint8Array {
  const type = typeName === 'ModelProto' ? ModelProtoType : lookupType(typeName);
  return type.encode(message).finish();
}

export type Piece = Uint8Array | StreamedBytes;

export function pieceLength(p: Piece): number {
  return p.byteLength;
}

/** Lays out a model as pieces; the concatenation equals the protobuf encoding. */
export function encodeChunks(model: ModelProto): Piece[] {
  const graph = model.graph;
  if (!graph || !graphHasStreamed(graph)) return [ModelProtoType.encode(model).finish()];
  return splitAround(ModelProtoType, model, 'graph', 7, graphPieces(graph));
}

function graphHasStreamed(g: GraphProto): boolean {
  return (g.initializer ?? []).some((t) => streamedRawData.has(t));
}

function graphPieces(graph: GraphProto): Piece[] {
  const inits = graph.initializer ?? [];
  const before = { ...graph, initializer: [] } as GraphProto;
  const unknowns = (graph as { $unknowns?: Uint8Array[] }).$unknowns;
  if (unknowns) before.$unknowns = unknowns;
  // Fields are written in field-number order: node(1), name(2), initializer(5), then the rest.
  const head = GraphProtoType.encode(pick(before, ['node', 'name'])).finish();
  const tail = GraphProtoType.encode(omit(before, ['node', 'name', 'initializer'], true)).finish();
  const pieces: Piece[] = [head];
  for (const t of inits) {
    const body = tensorPieces(t);
    pieces.push(tag(5), varint(sumLength(body)), ...body);
  }
  pieces.push(tail);
  return pieces;
}

function tensorPieces(t: TensorProto): Piece[] {
  const source = streamedRawData.get(t);
  if (!source) return [TensorProtoType.encode(t).finish()];
  const plain = { ...t } as TensorProto;
  delete plain.raw_data;
  if (t.$unknowns) plain.$unknowns = t.$unknowns;
  // raw_data is field 9: fields 1..8 first, then the streamed bytes, then 10.. and unknown fields.
  const low = TensorProtoType.encode(pick(plain, ['dims', 'data_type', 'segment', 'float_data', 'int32_data', 'string_data', 'int64_data', 'name'])).finish();
  const high = TensorProtoType.encode(omit(plain, ['dims', 'data_type', 'segment', 'float_data', 'int32_data', 'string_data', 'int64_data', 'name'], true)).finish();
  return [low, tag(9), varint(source.byteLength), source, high];
}

/** Encodes `message` with `field` replaced by the given pieces, keeping field-number order. */
function splitAround(type: protobuf.Type, message: object, field: string, id: number, inner: Piece[]): Piece[] {
  const rest = { ...message } as Record<string, unknown>;
  delete rest[field];
  const unknowns = (message as { $unknowns?: unknown }).$unknowns;
  if (unknowns !== undefined) rest.$unknowns = unknowns;
  const lowNames = type.fieldsArray.filter((f) => f.id < id).map((f) => f.name);
  const low = type.encode(pick(rest, lowNames)).finish();
  const high = type.encode(omit(rest, lowNames, true)).finish();
  return [low, tag(id), varint(sumLength(inner)), ...inner, high];
}

function pick<T extends object>(m: T, keys: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(m, k)) out[k] = (m as Record<string, unknown>)[k];
  return out as T;
}

/** Copy without `keys`; unknown fields go with the high part (they are written last). */
function omit<T extends object>(m: T, keys: readonly string[], withUnknowns = false): T {
  const out: Record<string, unknown> = { ...(m as Record<string, unknown>) };
  for (const k of keys) delete out[k];
  const unknowns = (m as { $unknowns?: unknown }).$unknowns;
  if (withUnknowns && unknowns !== undefined) out.$unknowns = unknowns;
  else delete out.$unknowns;
  return out as T;
}

function sumLength(pieces: readonly Piece[]): number {
  let n = 0;
  for (const p of pieces) n += p.byteLength;
  return n;
}

function tag(id: number): Uint8Array {
  return varint((id << 3) | 2);
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}
