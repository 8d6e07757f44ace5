/**
 * Model -> ModelProto. Unchanged parts reuse their original messages (so an unchanged model encodes to the
 * bytes it was read from); changed parts are rebuilt on a copy of the original, keeping fields the IR does
 * not model. Tensors are linked to their IR Tensor so the writer can place and stream their bytes.
 */
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import type { Attribute, Node } from './node.js';
import type { Tensor } from './tensor.js';
import type { TensorType, Value } from './value.js';
import { tensorType } from './from-proto.js';
import {
  AttributeType,
  type AttributeProto, type FunctionProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto,
  type TypeProto, type ValueInfoProto,
} from '../onnx/proto.js';

/** The IR tensor behind each TensorProto produced here (for the writer's placement and streaming). */
export const tensorOfProto = new WeakMap<TensorProto, Tensor>();

/** Shallow copy of a decoded message, unknown fields included. */
export function copyMessage<T extends object>(m: T | undefined): T {
  const out = { ...(m ?? {}) } as T & { $unknowns?: unknown };
  const unknowns = (m as { $unknowns?: unknown } | undefined)?.$unknowns;
  if (unknowns !== undefined) out.$unknowns = unknowns;
  return out;
}

/** Sets a proto2 optional field, leaving it absent when it was absent and the value is the default. */
function setOptional<T extends object, K extends keyof T>(target: T, key: K, value: T[K], fallback: T[K]): void {
  if (value === fallback && !Object.prototype.hasOwnProperty.call(target, key)) return;
  target[key] = value;
}

export function modelToProto(model: Model): ModelProto {
  const out = copyMessage(model.original as ModelProto | undefined);
  const original = model.original as ModelProto | undefined;
  if (!original || Number(original.ir_version ?? 0) !== model.irVersion) out.ir_version = model.irVersion;
  out.opset_import = sameOpsets(model, original) ? original!.opset_import! : model.opsetImports.map((o) => ({ domain: o.domain, version: o.version }));
  setOptional(out, 'producer_name', model.producerName, '');
  setOptional(out, 'producer_version', model.producerVersion, '');
  if (!sameMetadata(model, original)) out.metadata_props = [...model.metadata].map(([key, value]) => ({ key, value }));
  out.graph = graphToProto(model.graph);
  if (model.functions.length || out.functions) out.functions = model.functions.map((f) => functionToProto(f.body, f.original as FunctionProto));
  return out;
}

function sameOpsets(model: Model, original: ModelProto | undefined): boolean {
  const o = original?.opset_import;
  if (!o || o.length !== model.opsetImports.length) return false;
  return o.every((e, i) => (e.domain ?? '') === model.opsetImports[i]!.domain && Number(e.version ?? 0) === model.opsetImports[i]!.version);
}

function sameMetadata(model: Model, original: ModelProto | undefined): boolean {
  const o = original?.metadata_props ?? [];
  if (o.length !== model.metadata.size) return false;
  return o.every((e) => model.metadata.get(e.key ?? '') === (e.value ?? ''));
}

export function graphToProto(graph: Graph): GraphProto {
  const out = copyMessage(graph.original as GraphProto | undefined);
  setOptional(out, 'name', graph.name, '');
  out.node = graph.nodes.map(nodeToProto);
  out.initializer = graph.initializers.map((v) => tensorToProto(v.initializer!, v.name));
  const sparse = [...graph.ownValues()].filter((v) => v.sparseInitializer !== undefined).map((v) => v.sparseInitializer);
  if (sparse.length || out.sparse_initializer) out.sparse_initializer = sparse as GraphProto['sparse_initializer'];
  out.input = graph.inputs.map((v) => declaration(v, graph.declarations.input.get(v)));
  out.output = graph.outputs.map((v) => declaration(v, graph.declarations.output.get(v)));
  const infos = graph.valueInfos.filter((v) => v.graph === graph ? graph.lookup(v.name) === v : true);
  if (infos.length || out.value_info) out.value_info = infos.map((v) => declaration(v, graph.declarations.valueInfo.get(v)));
  return out;
}

function functionToProto(body: Graph, original: FunctionProto): FunctionProto {
  const out = copyMessage(original);
  out.input = body.inputs.map((v) => v.name);
  out.output = body.outputs.map((v) => v.name);
  out.node = body.nodes.map(nodeToProto);
  return out;
}

function declaration(v: Value, original: unknown): ValueInfoProto {
  const o = original as ValueInfoProto | undefined;
  if (o && o.name === v.name && (!v.typeModified || sameType(v.type, o.type))) return o;
  const out = copyMessage(o);
  out.name = v.name;
  if (v.type && (v.typeModified || !o)) out.type = typeProto(v.type);
  return out;
}

function sameType(t: TensorType | undefined, p: TypeProto | undefined): boolean {
  return JSON.stringify(t) === JSON.stringify(tensorType(p));
}

function typeProto(t: TensorType): TypeProto {
  const tensor: NonNullable<TypeProto['tensor_type']> = { elem_type: t.elemType };
  if (t.shape) {
    tensor.shape = {
      dim: t.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})),
    };
  }
  return { tensor_type: tensor };
}

function nodeToProto(node: Node): NodeProto {
  const o = node.original as NodeProto | undefined;
  const out = copyMessage(o);
  out.input = node.inputs.map((v) => v?.name ?? '');
  out.output = node.outputs.map((v) => v?.name ?? '');
  setOptional(out, 'name', node.name, '');
  setOptional(out, 'op_type', node.opType, '');
  setOptional(out, 'domain', node.domain, '');
  setOptional(out, 'overload', node.overload, '');
  const attrs = [...node.attributes.values()];
  if (attrs.length || out.attribute) out.attribute = attrs.map(attributeToProto);
  return out;
}

function attributeToProto(a: Attribute): AttributeProto {
  const o = a.original as AttributeProto | undefined;
  if (o && a.type === 'opaque') return o;
  if (o && a.type !== 'graph' && a.type !== 'graphs' && a.type !== 'tensor' && a.type !== 'tensors') return o;
  const out: AttributeProto = o ? copyMessage(o) : { name: a.name };
  const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
  switch (a.type) {
    case 'float': out.type = AttributeType.FLOAT; out.f = a.value; break;
    case 'int': out.type = AttributeType.INT; out.i = a.value; break;
    case 'string': out.type = AttributeType.STRING; out.s = utf8(a.value); break;
    case 'tensor': out.type = AttributeType.TENSOR; out.t = tensorToProto(a.value); break;
    case 'graph': out.type = AttributeType.GRAPH; out.g = graphToProto(a.value); break;
    case 'floats': out.type = AttributeType.FLOATS; out.floats = [...a.value]; break;
    case 'ints': out.type = AttributeType.INTS; out.ints = [...a.value]; break;
    case 'strings': out.type = AttributeType.STRINGS; out.strings = a.value.map(utf8); break;
    case 'tensors': out.type = AttributeType.TENSORS; out.tensors = a.value.map((t) => tensorToProto(t)); break;
    case 'graphs': out.type = AttributeType.GRAPHS; out.graphs = a.value.map(graphToProto); break;
    case 'opaque': return a.value as AttributeProto;
  }
  return out;
}

/**
 * An unmodified tensor reuses its message (placement decided by the writer); a modified one gets a fresh
 * message carrying name, type and dims, and its bytes are supplied by the writer from the IR tensor.
 */
export function tensorToProto(t: Tensor, name = t.name): TensorProto {
  const o = t.original as TensorProto | undefined;
  let out: TensorProto;
  if (o && !t.modified && (o.name ?? '') === name) {
    out = o;
  } else if (o && !t.modified) {
    out = copyMessage(o);
    out.name = name;
  } else {
    out = {};
    const keep = o ? copyMessage(o) : undefined;
    if (keep?.doc_string !== undefined) out.doc_string = keep.doc_string;
    if (keep?.metadata_props !== undefined) out.metadata_props = keep.metadata_props;
    out.dims = [...t.dims];
    out.data_type = t.dtype;
    if (name !== '' || o?.name !== undefined) out.name = name;
  }
  tensorOfProto.set(out, t);
  return out;
}
