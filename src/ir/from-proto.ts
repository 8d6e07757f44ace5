/**
 * ModelProto -> Model. Every IR object keeps its original message so that writing back an unchanged model
 * reproduces it byte for byte; tensor bytes stay views of the decoded buffer or external-data references.
 */
import { Graph } from './graph.js';
import { Model, type LocalFunction } from './model.js';
import { Node, type AttributeValue } from './node.js';
import { InlineBytes, Tensor, type ByteSource } from './tensor.js';
import type { TensorType, Dim } from './value.js';
import { toNumber } from './long.js';
import { typedFieldSource } from './typed-fields.js';
import {
  AttributeType, DataLocation,
  type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type TypeProto, type FunctionProto,
} from '../onnx/proto.js';
import { ModelFormatError } from '../errors.js';
import { has } from '../onnx/presence.js';

export interface FromProtoOptions {
  /** Resolves a tensor stored in external data (validates the location, returns a lazy source). */
  readonly resolveExternal?: (tensor: TensorProto) => ByteSource;
  readonly baseDir?: string;
  /** For in-memory copies: the IR tensor a message was made from, whose bytes the copy shares. */
  readonly linkedTensor?: (tensor: TensorProto) => Tensor | undefined;
}

export function modelFromProto(proto: ModelProto, options: FromProtoOptions = {}): Model {
  if (!proto.graph) throw new ModelFormatError('the model has no graph');
  const model = new Model(proto.graph.name ?? '');
  model.original = proto;
  model.baseDir = options.baseDir;
  model.irVersion = toNumber(proto.ir_version);
  model.opsetImports = (proto.opset_import ?? []).map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version) }));
  model.producerName = proto.producer_name ?? '';
  model.producerVersion = proto.producer_version ?? '';
  for (const e of proto.metadata_props ?? []) model.metadata.set(e.key ?? '', e.value ?? '');
  const reader = new Reader(options);
  reader.fillGraph(model.graph, proto.graph);
  for (const f of proto.functions ?? []) model.functions.push(reader.functionFromProto(model, f));
  return model;
}

class Reader {
  constructor(private readonly options: FromProtoOptions) {}

  fillGraph(graph: Graph, proto: GraphProto): void {
    graph.original = proto;
    for (const vi of proto.input ?? []) {
      const name = vi.name ?? '';
      const v = graph.inputs.find((i) => i.name === name) ?? this.define(graph, name);
      if (!v.type) { v.type = tensorType(vi.type); v.typeModified = false; }
      graph.inputs.push(v);
      graph.declarations.input.set(v, vi);
    }
    for (const tp of proto.initializer ?? []) {
      const name = tp.name ?? '';
      const input = graph.inputs.find((i) => i.name === name);
      if (!input && graph.lookup(name)) this.fail(`initializer '${name}' is defined twice`);
      const v = input ?? graph.createValue(name);
      if (v.initializer) this.fail(`initializer '${name}' is defined twice`);
      v.initializer = this.tensor(tp);
      graph.initializers.push(v);
    }
    for (const sp of proto.sparse_initializer ?? []) {
      const name = sp.values?.name ?? '';
      const v = graph.inputs.find((i) => i.name === name) ?? this.define(graph, name);
      v.sparseInitializer = sp;
    }
    const nodes = (proto.node ?? []).map((np) => this.declareNode(graph, np));
    (proto.node ?? []).forEach((np, i) => this.connectNode(nodes[i]!, np));
    for (const vi of proto.output ?? []) {
      const v = graph.lookup(vi.name ?? '') ?? this.fail(`graph output '${vi.name}' is not defined`);
      graph.outputs.push(v);
      if (!graph.declarations.output.has(v)) graph.declarations.output.set(v, vi);
      if (!v.type) v.type = tensorType(vi.type);
      v.typeModified = false;
    }
    for (const vi of proto.value_info ?? []) {
      const v = graph.lookup(vi.name ?? '');
      if (!v || graph.declarations.valueInfo.has(v)) continue; // annotations of unknown names carry no meaning
      graph.valueInfos.push(v);
      graph.declarations.valueInfo.set(v, vi);
      if (!v.type) { v.type = tensorType(vi.type); v.typeModified = false; }
    }
  }

  functionFromProto(model: Model, proto: FunctionProto): LocalFunction {
    const body = new Graph(model, proto.name ?? '');
    for (const name of proto.input ?? []) body.inputs.push(body.createValue(name));
    const nodes = (proto.node ?? []).map((np) => this.declareNode(body, np));
    (proto.node ?? []).forEach((np, i) => this.connectNode(nodes[i]!, np));
    for (const name of proto.output ?? []) {
      body.outputs.push(body.lookup(name) ?? this.fail(`function '${proto.name}' output '${name}' is not defined`));
    }
    return { name: proto.name ?? '', domain: proto.domain ?? '', overload: proto.overload ?? '', body, original: proto };
  }

  private declareNode(graph: Graph, np: NodeProto): Node {
    const node = new Node(graph, np.op_type ?? '', np.domain ?? '', np.name ?? '', np.overload ?? '');
    node.original = np;
    (np.output ?? []).forEach((name, i) => node.setOutputSlot(i, name === '' ? null : this.define(graph, name)));
    graph.appendNode(node);
    return node;
  }

  private connectNode(node: Node, np: NodeProto): void {
    (np.input ?? []).forEach((name, i) => {
      if (name === '') { node.setInput(i, null); return; }
      const v = node.graph.lookup(name) ?? this.fail(`${node.describe()} reads '${name}', which is not defined`);
      node.setInput(i, v);
    });
    for (const ap of np.attribute ?? []) {
      const name = ap.name ?? '';
      if (node.attributes.has(name)) this.fail(`${node.describe()} has attribute '${name}' twice`);
      node.attributes.set(name, { name, original: ap, ...this.attribute(node.graph, ap) });
    }
  }

  private define(graph: Graph, name: string) {
    if (graph.lookup(name)) this.fail(`value '${name}' is defined twice`);
    return graph.createValue(name);
  }

  private attribute(graph: Graph, ap: AttributeProto): AttributeValue {
    if (ap.ref_attr_name) return { type: 'opaque', value: ap };
    const text = (b: Uint8Array | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
    switch (has(ap, 'type') ? ap.type : inferAttributeType(ap)) {
      case AttributeType.FLOAT: return { type: 'float', value: ap.f ?? 0 };
      case AttributeType.INT: return { type: 'int', value: toNumber(ap.i) };
      case AttributeType.STRING: return { type: 'string', value: text(ap.s) };
      case AttributeType.TENSOR: return ap.t ? { type: 'tensor', value: this.tensor(ap.t) } : { type: 'opaque', value: ap };
      case AttributeType.GRAPH: return ap.g ? { type: 'graph', value: this.subgraph(graph, ap.g) } : { type: 'opaque', value: ap };
      case AttributeType.FLOATS: return { type: 'floats', value: ap.floats ?? [] };
      case AttributeType.INTS: return { type: 'ints', value: (ap.ints ?? []).map((i) => toNumber(i)) };
      case AttributeType.STRINGS: return { type: 'strings', value: (ap.strings ?? []).map(text) };
      case AttributeType.TENSORS: return { type: 'tensors', value: (ap.tensors ?? []).map((t) => this.tensor(t)) };
      case AttributeType.GRAPHS: return { type: 'graphs', value: (ap.graphs ?? []).map((g) => this.subgraph(graph, g)) };
      default: return { type: 'opaque', value: ap };
    }
  }

  private subgraph(parent: Graph, proto: GraphProto): Graph {
    const g = new Graph(parent.model, proto.name ?? '', parent);
    this.fillGraph(g, proto);
    return g;
  }

  tensor(tp: TensorProto): Tensor {
    const linked = this.options.linkedTensor?.(tp);
    if (linked) {
      // Sources are never mutated in place (setBytes swaps them), so sharing one is safe.
      const copy = new Tensor(tp.name ?? linked.name, linked.dtype, [...linked.dims], linked.byteSource, linked.original);
      copy.modified = linked.modified;
      return copy;
    }
    const dims = (tp.dims ?? []).map((d) => toNumber(d));
    if (dims.some((d) => d < 0 || !Number.isSafeInteger(d))) this.fail(`tensor '${tp.name ?? ''}' has invalid dims [${dims.join(',')}]`);
    const dtype = tp.data_type ?? 0;
    let source: ByteSource | undefined;
    if (tp.data_location === DataLocation.EXTERNAL) {
      if (!this.options.resolveExternal) this.fail(`tensor '${tp.name ?? ''}' uses external data, which this reader cannot resolve`);
      source = this.options.resolveExternal(tp);
    } else if (has(tp, 'raw_data')) {
      source = new InlineBytes(tp.raw_data!);
    } else {
      source = typedFieldSource(tp, dtype, dims);
    }
    return new Tensor(tp.name ?? '', dtype, dims, source, tp);
  }

  private fail(message: string): never {
    throw new ModelFormatError(message);
  }
}

function inferAttributeType(ap: AttributeProto): number {
  if (has(ap, 'f')) return AttributeType.FLOAT;
  if (has(ap, 'i')) return AttributeType.INT;
  if (has(ap, 's')) return AttributeType.STRING;
  if (ap.t) return AttributeType.TENSOR;
  if (ap.g) return AttributeType.GRAPH;
  if (ap.floats?.length) return AttributeType.FLOATS;
  if (ap.ints?.length) return AttributeType.INTS;
  if (ap.strings?.length) return AttributeType.STRINGS;
  if (ap.tensors?.length) return AttributeType.TENSORS;
  if (ap.graphs?.length) return AttributeType.GRAPHS;
  return AttributeType.UNDEFINED;
}

export function tensorType(tp: TypeProto | undefined): TensorType | undefined {
  const t = tp?.tensor_type;
  if (!t) return undefined;
  const shape: Dim[] | undefined = has(t, 'shape') && t.shape
    ? (t.shape.dim ?? []).map((d) => (has(d, 'dim_value') ? toNumber(d.dim_value) : has(d, 'dim_param') ? d.dim_param! : null))
    : undefined;
  return shape ? { elemType: t.elem_type ?? 0, shape } : { elemType: t.elem_type ?? 0 };
}
