/**
 * Per-layer rewiring onto the cache:
 *   GroupQueryAttention(qkv, .., -, -, seqlens, total, cos, sin) -> (qkv, .., past_k, past_v, seqlens', total', cos', sin')
 *                                                                   + present_key, present_value outputs
 *   MultiHeadAttention(q, k, v, bias, kpm)                      -> (q, k, v, bias, kpm', -, past_k, past_v) + presents
 *   Attention(x, W, b, [mask_index])                            -> Split(MatMul(x, W) + b) -> MultiHeadAttention as above
 * The old node is replaced by a new one with three outputs (output 0 takes over the readers).
 */
import type { Node, AttributeValue } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { DType } from '../../src/ir/dtype.js';
import { int64 } from '../../src/pattern/rewrite.js';
import { Builder, int, type LayerCache } from './interface.js';
import type { Layer } from './plan.js';

/** Values every layer reads, built once. */
export interface SharedValues {
  readonly mask: Value;
  /** GroupQueryAttention's int32 seqlens_k [batch] and total_sequence_length scalar. */
  readonly seqlens?: Value;
  readonly total?: Value;
  /** Cast(mask, int32) for MultiHeadAttention's key_padding_mask. */
  readonly keyPadding?: Value;
  /** Constant rotary tables by the name of the value they replace. */
  readonly tables: ReadonlyMap<string, Value>;
}

function attributesOf(node: Node, drop: readonly string[] = []): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, a] of node.attributes) {
    if (drop.includes(k)) continue;
    const { name: _n, original: _o, ...value } = a;
    out[k] = value as AttributeValue;
  }
  return out;
}

/** Adds `opType(inputs)` with present outputs before `node`, moves node's readers to it, removes node. */
function replace(b: Builder, node: Node, opType: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue>, cache: LayerCache): Node {
  const graph = b.graph;
  const fresh = graph.addNode({
    opType, domain: 'com.microsoft', inputs, attributes, before: node,
    name: b.model.freshNodeName(`${node.name || opType}/add-kv-cache`),
    outputs: [b.model.freshName(`${node.output(0).name}_cached`), ...cache.presentNames],
  });
  for (const i of [1, 2]) {
    const v = fresh.output(i);
    v.type = cache.presentType;
    graph.outputs.push(v);
  }
  node.output(0).replaceAllUsesWith(fresh.output(0));
  graph.removeNode(node);
  return fresh;
}

export function wireGqa(b: Builder, layer: Layer, cache: LayerCache, shared: SharedValues): Node {
  const n = layer.node;
  const inputs = [...n.inputs];
  while (inputs.length < 7) inputs.push(null);
  inputs[3] = cache.past[0];
  inputs[4] = cache.past[1];
  inputs[5] = shared.seqlens!;
  inputs[6] = shared.total!;
  for (const i of [7, 8]) {
    const t = inputs[i];
    if (t) inputs[i] = shared.tables.get(t.name) ?? t;
  }
  return replace(b, n, 'GroupQueryAttention', inputs, attributesOf(n), cache);
}

export function wireMha(b: Builder, layer: Layer, cache: LayerCache, shared: SharedValues): Node {
  const n = layer.node;
  const [q, k, v, bias] = n.inputs;
  const kpm = n.inputs[4] ?? shared.keyPadding ?? null;
  return replace(b, n, 'MultiHeadAttention', [q!, k!, v!, bias ?? null, kpm, null, cache.past[0], cache.past[1]], attributesOf(n), cache);
}

/** Attention's packed projection done outside, so that MultiHeadAttention can take a separate past key/value. */
export function wireAttention(b: Builder, layer: Layer, cache: LayerCache, shared: SharedValues): Node {
  const n = layer.node;
  const [x, weight, bias, maskIndex] = n.inputs;
  const width = layer.heads * layer.headSize;
  const at = n;
  const projected = b.op('Add', [b.op('MatMul', [x!, weight!], {}, '', at), bias!], {}, '', at);
  const opset = b.model.opsetVersion('') ?? 17;
  const splitAttrs: Record<string, AttributeValue> = { axis: int(-1) };
  const sizes = [width, width, width];
  if (opset < 13) splitAttrs.split = { type: 'ints', value: sizes };
  const split = b.graph.addNode({
    opType: 'Split', inputs: opset < 13 ? [projected] : [projected, int64(b.graph, 'qkv_sizes', sizes)], attributes: splitAttrs,
    before: at, outputs: 3, name: b.model.freshNodeName('add-kv-cache/Split'),
  });
  // a 2-D mask_index is a key padding mask; other mask layouts were refused by the plan
  const kpm = maskIndex ?? shared.keyPadding ?? null;
  const attrs = attributesOf(n, ['qkv_hidden_sizes', 'past_present_share_buffer', 'do_rotary', 'rotary_embedding_dim']);
  return replace(b, n, 'MultiHeadAttention', [split.output(0), split.output(1), split.output(2), null, kpm, null, cache.past[0], cache.past[1]], attrs, cache);
}

/** Cast(mask, int32), the key padding mask for MultiHeadAttention. */
export function keyPaddingMask(b: Builder, mask: Value): Value {
  return mask.type?.elemType === DType.INT32 ? mask : b.op('Cast', [mask], { to: int(DType.INT32) });
}
