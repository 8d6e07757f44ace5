/**
 * Element types of a graph's values where they can be known: declared types first, then a few per-op rules
 * in node order (exporters rarely declare intermediates). Enough to tell which float type a node computes in.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';

export type ElementTypes = ReadonlyMap<Value, number>;

const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);
const INT32_OUT = new Set(['MatMulInteger', 'ConvInteger']);

export function elementTypes(graph: Graph, into = new Map<Value, number>()): Map<Value, number> {
  const typeOf = (v: Value | null | undefined): number | undefined => (v ? into.get(v) ?? declared(v) : undefined);
  for (const v of graph.inputs) known(into, v, declared(v));
  for (const v of graph.initializers) known(into, v, v.initializer!.dtype);
  for (const node of graph.nodes) {
    for (const g of node.subgraphs()) elementTypes(g, into);
    node.outputs.forEach((v, i) => { if (v) known(into, v, declared(v) ?? ruled(node, i, typeOf)); });
  }
  return into;
}

function known(map: Map<Value, number>, v: Value, t: number | undefined): void {
  if (t !== undefined && t !== DType.UNDEFINED) map.set(v, t);
}

function declared(v: Value): number | undefined {
  const t = v.type?.elemType ?? v.initializer?.dtype;
  return t === undefined || t === DType.UNDEFINED ? undefined : t;
}

function ruled(node: Node, index: number, typeOf: (v: Value | null | undefined) => number | undefined): number | undefined {
  const op = node.opType;
  if (BOOL_OUT.has(op)) return DType.BOOL;
  if (INT64_OUT.has(op)) return DType.INT64;
  if (INT32_OUT.has(op)) return DType.INT32;
  switch (op) {
    case 'Cast': return node.getInt('to');
    case 'CastLike': return typeOf(node.inputs[1]);
    case 'Constant': { const a = node.attr('value'); return a?.type === 'tensor' ? a.value.dtype : undefined; }
    case 'ConstantOfShape': { const a = node.attr('value'); return a?.type === 'tensor' ? a.value.dtype : DType.FLOAT; }
    case 'DequantizeLinear': return node.getInt('output_dtype') || typeOf(node.inputs[1]);
    case 'QuantizeLinear': return node.getInt('output_dtype') || typeOf(node.inputs[2]) || DType.UINT8;
    case 'DynamicQuantizeLinear': return index === 1 ? DType.FLOAT : DType.UINT8;
    case 'QLinearMatMul': case 'QLinearConv': return typeOf(node.inputs[7]);
    case 'DynamicQuantizeMatMul': case 'MatMulNBits': case 'MatMulIntegerToFloat': return typeOf(node.inputs[2]);
    case 'Where': return typeOf(node.inputs[1]);
    case 'LayerNormalization': case 'SimplifiedLayerNormalization': case 'SkipLayerNormalization': case 'SkipSimplifiedLayerNormalization':
      return index === 1 || index === 2 ? DType.FLOAT : typeOf(node.inputs[0]);
    default: return typeOf(node.inputs.find((v) => v !== null));
  }
}

/** The float type a node computes in: its first float output, else its first float input. */
export function computeType(node: Node, types: ElementTypes): number | undefined {
  const isFloatType = (t: number | undefined) => t === DType.FLOAT || t === DType.FLOAT16 || t === DType.BFLOAT16 || t === DType.DOUBLE;
  for (const v of node.outputs) { const t = v ? types.get(v) : undefined; if (isFloatType(t)) return t; }
  for (const v of node.inputs) { const t = v ? types.get(v) : undefined; if (isFloatType(t)) return t; }
  return undefined;
}

export function floatTypeName(t: number): 'float32' | 'float16' | 'bfloat16' | 'float64' | undefined {
  return t === DType.FLOAT ? 'float32' : t === DType.FLOAT16 ? 'float16' : t === DType.BFLOAT16 ? 'bfloat16' : t === DType.DOUBLE ? 'float64' : undefined;
}
