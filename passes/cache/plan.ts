/**
 * Which fused attention nodes a cache can be added to, and the cache geometry of each:
 *   com.microsoft GroupQueryAttention (always causal)            -> past_key/past_value inputs 3, 4
 *   com.microsoft MultiHeadAttention, unidirectional=1           -> past_key/past_value inputs 6, 7
 *   com.microsoft Attention, unidirectional=1, packed weight     -> rewritten to MultiHeadAttention first
 * All or nothing: one attention the cache cannot serve would give wrong tokens, so the model is refused.
 */
import type { Graph } from '../../src/ir/graph.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { findLinears, type Linear } from '../../src/analysis/linear.js';
import { featureWidth } from '../../src/analysis/attention-info.js';

export type Kind = 'gqa' | 'mha' | 'attention';

export interface Layer {
  readonly node: Node;
  readonly kind: Kind;
  /** Heads stored in the cache (key/value heads for GroupQueryAttention). */
  readonly heads: number;
  readonly headSize: number;
}

export type Plan = { readonly layers: readonly Layer[] } | { readonly reason: string };

const MS = 'com.microsoft';

/**
 * Width of the last axis of a value: declared, or followed back to the linear layer (float or quantized)
 * that made it, through splits, slices, reshapes and element-wise ops.
 */
type LastDim = (v: Value) => number | undefined;

/** The attention nodes in graph order, or why the model cannot take a cache. */
export function planCache(graph: Graph): Plan {
  const layers: Layer[] = [];
  // The graph's linear layers, found once for every attention node's operand widths.
  let linears: Map<Node, Linear> | undefined;
  const lastDim: LastDim = (v) => featureWidth(v, linears ??= findLinears(graph));
  for (const node of graph.nodes) {
    if (node.domain !== MS) continue;
    const kind = kindOf(node);
    if (!kind) continue;
    const checked = check(node, kind, lastDim);
    if (typeof checked === 'string') return { reason: `${node.describe()}: ${checked}` };
    layers.push(checked);
  }
  if (!layers.length) return { reason: 'no fused causal attention (GroupQueryAttention, or MultiHeadAttention/Attention with unidirectional=1)' };
  return { layers };
}

function kindOf(node: Node): Kind | undefined {
  if (node.opType === 'GroupQueryAttention') return 'gqa';
  if (node.opType === 'MultiHeadAttention') return 'mha';
  if (node.opType === 'Attention') return 'attention';
  return undefined;
}

const present = (node: Node, i: number): boolean => !!node.inputs[i];

function check(node: Node, kind: Kind, lastDim: LastDim): Layer | string {
  const heads = node.getInt('num_heads', 0);
  if (heads <= 0) return 'no num_heads';
  if (kind === 'gqa') {
    if (present(node, 3) || present(node, 4)) return 'already reads a past key/value';
    const kv = node.getInt('kv_num_heads', 0);
    const key = node.inputs[1];
    const width = key ? lastDim(key) : lastDim(node.input(0));
    const headSize = width === undefined ? undefined : key ? width / kv : width / (heads + 2 * kv);
    return headSize && Number.isInteger(headSize) ? { node, kind, heads: kv, headSize } : 'head size unknown';
  }
  if (node.getInt('unidirectional', 0) !== 1) return 'not causal (unidirectional is not 1)';
  if (kind === 'mha') {
    if (present(node, 6) || present(node, 7)) return 'already reads a past key/value';
    if (!node.inputs[1] || !node.inputs[2]) return 'packed query/key/value (no separate key and value)';
    if (present(node, 5)) return 'an attention bias over the current tokens only';
    if (present(node, 4) && !fromInput(node.input(4))) return 'a key padding mask not read from a graph input';
    const width = lastDim(node.input(0));
    return width && width % heads === 0 ? { node, kind, heads, headSize: width / heads } : 'head size unknown';
  }
  if (present(node, 4)) return 'already reads a past state';
  if (present(node, 5) || present(node, 6)) return 'an attention bias or past length input';
  if (!node.inputs[2]?.initializer) return 'no constant bias';
  if (present(node, 3) && !fromInput(node.input(3))) return 'a mask index not read from a graph input';
  const w = node.inputs[1]?.initializer;
  if (!w || w.dims.length !== 2) return 'weight is not a constant matrix';
  const sizes = node.getInts('qkv_hidden_sizes');
  if (sizes && (sizes[0] !== sizes[1] || sizes[1] !== sizes[2])) return 'query/key/value widths differ';
  const width = w.dims[1]! / 3;
  return width % heads === 0 ? { node, kind, heads, headSize: width / heads } : 'head size unknown';
}

/** A 2-D mask straight from a graph input (through a Cast): it grows with the input over past + current. */
function fromInput(v: Value): boolean {
  const src = v.producer?.opType === 'Cast' ? v.producer.input(0) : v;
  return src.isGraphInput && src.type?.shape?.length === 2;
}
