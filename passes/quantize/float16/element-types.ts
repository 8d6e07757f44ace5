/**
 * Element type of every value of a graph, where it can be known: declared types first (inputs, outputs,
 * value_info, initializers), then per-op rules in node order. Exporters rarely write value_info for
 * intermediates, so the precision pass cannot rely on declarations alone.
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';

export type ElementTypes = Map<Value, number>;

const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);

/** Types of this graph's values and of every nested subgraph's values, in one map. */
export function inferElementTypes(graph: Graph, into: ElementTypes = new Map()): ElementTypes {
  const typeOf = (v: Value | null | undefined): number | undefined => (v ? into.get(v) ?? declared(v) : undefined);
  for (const v of graph.inputs) setKnown(into, v, declared(v));
  for (const v of graph.initializers) setKnown(into, v, v.initializer!.dtype);
  for (const node of graph.nodes) {
    for (const g of node.subgraphs()) inferElementTypes(g, into);
    const ruled = outputTypes(node, typeOf);
    node.outputs.forEach((v, i) => { if (v) setKnown(into, v, declared(v) ?? ruled[i]); });
  }
  return into;
}

function setKnown(map: ElementTypes, v: Value, t: number | undefined): void {
  if (t !== undefined && t !== DType.UNDEFINED) map.set(v, t);
}

function declared(v: Value): number | undefined {
  const t = v.type?.elemType;
  return t === undefined || t === DType.UNDEFINED ? undefined : t;
}

type TypeOf = (v: Value | null | undefined) => number | undefined;

function outputTypes(node: Node, typeOf: TypeOf): (number | undefined)[] {
  const n = node.outputs.length;
  const all = (t: number | undefined) => Array.from({ length: n }, () => t);
  const first = typeOf(node.inputs.find((v) => v) ?? null);
  if (node.domain !== '' && node.domain !== 'ai.onnx') return all(first);
  const op = node.opType;
  if (BOOL_OUT.has(op)) return all(DType.BOOL);
  if (INT64_OUT.has(op)) return all(DType.INT64);
  switch (op) {
    case 'Cast': return all(node.getInt('to'));
    case 'CastLike': return all(typeOf(node.inputs[1]));
    case 'Constant': return all(constantType(node));
    case 'ConstantOfShape': {
      const a = node.attr('value');
      return all(a?.type === 'tensor' ? a.value.dtype : DType.FLOAT);
    }
    case 'Where': return all(typeOf(node.inputs[1]));
    case 'EyeLike': case 'RandomNormalLike': case 'RandomUniformLike': case 'Bernoulli':
      return all(node.getInt('dtype') ?? first);
    case 'RandomNormal': case 'RandomUniform': return all(node.getInt('dtype') ?? DType.FLOAT);
    case 'Multinomial': return all(node.getInt('dtype') ?? DType.INT32);
    case 'DequantizeLinear': return all(typeOf(node.inputs[1]));
    case 'QuantizeLinear': return all(typeOf(node.inputs[2]) ?? node.getInt('output_dtype') ?? DType.UINT8);
    case 'DynamicQuantizeLinear': return [DType.UINT8, DType.FLOAT, DType.UINT8];
    case 'MatMulInteger': case 'ConvInteger': return all(DType.INT32);
    case 'QLinearMatMul': case 'QLinearConv': return all(typeOf(node.inputs[7]));
    case 'TopK': return [first, DType.INT64];
    case 'Unique': return [first, DType.INT64, DType.INT64, DType.INT64];
    case 'Dropout': return [first, DType.BOOL];
    case 'LayerNormalization': return [first, node.getInt('stash_type', DType.FLOAT), node.getInt('stash_type', DType.FLOAT)];
    case 'If': return subgraphOutputs(node, 'then_branch', 0, typeOf);
    case 'Loop': return subgraphOutputs(node, 'body', 1, typeOf);
    case 'Scan': return subgraphOutputs(node, 'body', 0, typeOf);
    default: return all(first);
  }
}

function constantType(node: Node): number | undefined {
  for (const a of node.attributes.values()) {
    if (a.type === 'tensor') return a.value.dtype;
    if (a.name === 'value_float' || a.name === 'value_floats') return DType.FLOAT;
    if (a.name === 'value_int' || a.name === 'value_ints') return DType.INT64;
    if (a.name === 'value_string' || a.name === 'value_strings') return DType.STRING;
  }
  return undefined;
}

function subgraphOutputs(node: Node, attr: string, skip: number, typeOf: TypeOf): (number | undefined)[] {
  const a = node.attr(attr);
  const body = a?.type === 'graph' ? a.value : undefined;
  return node.outputs.map((_, i) => typeOf(body?.outputs[i + skip]));
}
