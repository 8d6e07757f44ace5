/**
 * The cache-facing interface of the model and the run-time values every layer shares:
 *   inputs   attention_mask [batch, total_sequence_length] (added when absent),
 *            past_key_values.{i}.key/.value [batch, heads, past_sequence_length, head_size]
 *   outputs  present.{i}.key/.value [batch, heads, total_sequence_length, head_size]
 *   shared   past length = Shape(past_key_values.0.key)[2], seqlens_k = ReduceSum(mask) - 1 (int32),
 *            total_sequence_length = Shape(mask)[1] (int32)
 */
import type { Graph } from '../../src/ir/graph.js';
import type { Model } from '../../src/ir/model.js';
import type { Node, AttributeValue } from '../../src/ir/node.js';
import type { TensorType, Value } from '../../src/ir/value.js';
import { DType } from '../../src/ir/dtype.js';
import { addConstant, int64 } from '../../src/pattern/rewrite.js';
import type { Layer } from './plan.js';

export const PAST_DIM = 'past_sequence_length';
export const TOTAL_DIM = 'total_sequence_length';
const INT_TYPES: readonly number[] = [DType.INT64, DType.INT32];

export const int = (value: number): AttributeValue => ({ type: 'int', value });

/** Adds nodes before `anchor` (the first node that must see them), named after the pass. */
export class Builder {
  constructor(readonly model: Model, readonly anchor: Node) {}
  get graph(): Graph { return this.model.graph; }

  op(opType: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue> = {}, domain = '', before = this.anchor): Value {
    return this.graph.addNode({ opType, domain, inputs, attributes, before, name: this.model.freshNodeName(`add-kv-cache/${opType}`) }).output(0);
  }

  /** x[axis] as a scalar int64. */
  dim(x: Value, axis: number): Value {
    return this.op('Gather', [this.op('Shape', [x]), int64(this.graph, 'axis', [axis], [])], { axis: int(0) });
  }
}

export interface CacheInterface {
  readonly mask: Value;
  readonly maskAdded: boolean;
  readonly batchDim: string;
  readonly dtype: number;
}

/** The token ids input: named like ids, else the first integer input. */
export function idsInput(graph: Graph): Value | undefined {
  const inputs = graph.inputs.filter((v) => !v.initializer);
  return inputs.find((v) => /ids|tokens/i.test(v.name) && !/position|type/i.test(v.name)) ?? inputs.find((v) => INT_TYPES.includes(v.type?.elemType ?? 0));
}

/** The existing attention_mask input, or a new one over past + current tokens. */
export function maskInput(graph: Graph, ids: Value): { mask: Value; added: boolean; batchDim: string } {
  const batch = ids.type?.shape?.[0];
  const batchDim = typeof batch === 'string' && batch ? batch : 'batch';
  const existing = graph.inputs.find((v) => !v.initializer && /attention_mask/i.test(v.name));
  if (existing) {
    existing.type = { elemType: existing.type?.elemType ?? DType.INT64, shape: [batchDim, TOTAL_DIM] };
    return { mask: existing, added: false, batchDim };
  }
  const name = graph.lookup('attention_mask') ? graph.model.freshName('attention_mask') : 'attention_mask';
  return { mask: graph.addInput(name, { elemType: DType.INT64, shape: [batchDim, TOTAL_DIM] }), added: true, batchDim };
}

export interface LayerCache {
  readonly past: readonly [Value, Value];
  readonly presentNames: readonly [string, string];
  readonly presentType: TensorType;
}

/** past_key_values.{i}.key/.value inputs, and the names and type of present.{i}.key/.value. */
export function layerCache(graph: Graph, layer: Layer, index: number, iface: CacheInterface): LayerCache {
  const shape = (len: string) => [iface.batchDim, layer.heads, len, layer.headSize];
  const past = (['key', 'value'] as const).map((kv) => graph.addInput(`past_key_values.${index}.${kv}`, { elemType: iface.dtype, shape: shape(PAST_DIM) })) as [Value, Value];
  return { past, presentNames: [`present.${index}.key`, `present.${index}.value`], presentType: { elemType: iface.dtype, shape: shape(TOTAL_DIM) } };
}

/** Runs the mask through int32 sums: GroupQueryAttention's seqlens_k and total_sequence_length. */
export function gqaLengths(b: Builder, mask: Value): { seqlens: Value; total: Value } {
  const opset = b.model.opsetVersion('') ?? 17;
  const axes = int64(b.graph, 'sum_axes', [1]);
  const sum = opset >= 13 ? b.op('ReduceSum', [mask, axes], { keepdims: int(0) }) : b.op('ReduceSum', [mask], { axes: { type: 'ints', value: [1] }, keepdims: int(0) });
  const last = b.op('Sub', [b.op('Cast', [sum], { to: int(DType.INT32) }), addConstant(b.graph, 'one_i32', DType.INT32, [], [1])]);
  const total = b.op('Cast', [b.dim(mask, 1)], { to: int(DType.INT32) });
  return { seqlens: last, total };
}
