/**
 * Builds the fused operators for a matched attention:
 *   contrib, causal with rotary or grouped heads -> com.microsoft GroupQueryAttention (rotary inside, do_rotary)
 *   contrib, no RoPE, packable projections       -> com.microsoft Attention (one packed QKV weight)
 *   contrib, otherwise                           -> [com.microsoft RotaryEmbedding on q and k] + MultiHeadAttention
 *   portable                                     -> [RotaryEmbedding-23 on q and k] + Attention-23
 * Helper values (sequence lengths, cast masks, rotary tables, positions) are shared between layers.
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Model } from '../../../src/ir/model.js';
import type { Node, AttributeValue } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { DimBuilder } from '../../../src/pattern/dims.js';
import { Sym, type Dim } from '../../../src/pattern/sym.js';
import { addConstant, float32, int64, nodeName } from '../../../src/pattern/rewrite.js';
import type { Core, Side } from './core.js';
import type { MaskClass } from './mask.js';
import { halfTable } from './rope-cache.js';
import type { Projections } from './projections.js';

export type Form = 'gqa' | 'mha' | 'attention' | 'portable';

export interface Emitter {
  readonly model: Model;
  readonly graph: Graph;
  /** Shared helper values by key, valid for the whole pass. */
  readonly shared: Map<string, Value>;
}

const int = (value: number): AttributeValue => ({ type: 'int', value });
const float = (value: number): AttributeValue => ({ type: 'float', value });

function op(e: Emitter, root: Node, opType: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue> = {}, domain = ''): Value {
  while (inputs.length && inputs[inputs.length - 1] === null) inputs.pop();
  return e.graph.addNode({ opType, domain, inputs, attributes, before: root, name: nodeName(e.graph, root, 'fuse-attention') }).output(0);
}

/** A helper value built once per pass run and reused by later layers while it is still in the graph. */
export function shared(e: Emitter, key: string, make: () => Value): Value {
  const known = e.shared.get(key);
  if (known && known.graph === e.graph && (known.producer ? e.graph.nodes.includes(known.producer) : true)) return known;
  const v = make();
  e.shared.set(key, v);
  return v;
}

/** An int32 run-time value of a dimension (a constant when static). */
function int32Dim(e: Emitter, d: Dim, key: string): Value {
  return shared(e, `i32:${key}:${d}`, () => {
    if (d?.value !== undefined) return addConstant(e.graph, key, DType.INT32, [], [d.value]);
    const dims = new DimBuilder(e.graph);
    return dims.cast(dims.scalar(d!, key), DType.INT32, key);
  });
}

/** [S, D/2] cos and sin tables for a side's rotary embedding. */
function tables(e: Emitter, root: Node, side: Side, rank: (v: Value) => number): [Value, Value] {
  const r = side.rope!;
  const d = side.heads.headSize;
  return [r.cos, r.sin].map((t) => shared(e, `table:${t.name}`, () => halfTable(e.graph, t, rank(t), d, root))) as [Value, Value];
}

/** Key/value heads repeated in [B, S, KV*D] layout: each head `times` times in place. */
function repeatHeads(e: Emitter, root: Node, x3: Value, side: Side): Value {
  const { heads, headSize } = side.heads;
  const split = op(e, root, 'Reshape', [x3, int64(e.graph, 'kv_split', [0, 0, heads, 1, headSize])]);
  const wide = op(e, root, 'Expand', [split, int64(e.graph, 'kv_repeat', [1, 1, 1, side.times, 1])]);
  return op(e, root, 'Reshape', [wide, int64(e.graph, 'kv_merge', [0, 0, heads * side.times * headSize])]);
}

export interface EmitRequest {
  readonly core: Core;
  readonly mask: MaskClass;
  /** Identifies the mask computation (layers sharing a mask share what is built from it). */
  readonly maskKey?: string;
  /** The mask as an additive value, when mask.kind is 'bias' or the portable form passes it through. */
  readonly additive?: () => Value;
  /** The additive mask is [.., .., 1, T] and must be expanded over the queries. */
  readonly expandMask?: boolean;
  /** Q, K and V projections to pack into one weight (GroupQueryAttention's packed input, Attention). */
  readonly projections?: Projections;
  readonly form: Form;
  readonly rank: (v: Value) => number;
}

export function emit(e: Emitter, root: Node, req: EmitRequest): Value {
  switch (req.form) {
    case 'gqa': return emitGqa(e, root, req);
    case 'mha': return emitMha(e, root, req);
    case 'attention': return emitAttention(e, root, req);
    default: return emitPortable(e, root, req);
  }
}

function emitGqa(e: Emitter, root: Node, req: EmitRequest): Value {
  const { core, rank } = req;
  e.model.requireOpset('com.microsoft', 1);
  const { q, k, v } = core;
  const total = int32Dim(e, q.heads.seq, 'total_sequence_length');
  const seqlens = shared(e, `seqlens:${q.heads.batch}:${q.heads.seq}`, () => {
    const one = addConstant(e.graph, 'one_i32', DType.INT32, [], [1]);
    const last = op(e, root, 'Sub', [total, one]);
    const batch = q.heads.batch?.value !== undefined ? int64(e.graph, 'batch', [q.heads.batch.value]) : new DimBuilder(e.graph).vector([q.heads.batch!], 'batch');
    return op(e, root, 'Expand', [last, batch]);
  });
  const rotary = q.rope ? tables(e, root, q, rank) : [null, null];
  let qkv: (Value | null)[] = [q.heads.x3, k.heads.x3, v.heads.x3];
  const p = req.projections;
  if (p) {
    // one MatMul for the three projections; GroupQueryAttention takes the packed [q | k | v] as its query
    const { weight, bias: qkvBias } = p.build(e.graph);
    const packed = op(e, root, 'MatMul', [p.x, weight]);
    qkv = [p.hasBias ? op(e, root, 'Add', [packed, qkvBias]) : packed, null, null];
  }
  return op(e, root, 'GroupQueryAttention', [...qkv, null, null, seqlens, total, rotary[0]!, rotary[1]!], {
    num_heads: int(q.heads.heads), kv_num_heads: int(k.heads.heads), scale: float(core.scale),
    ...(q.rope ? { do_rotary: int(1), rotary_interleaved: int(0) } : {}),
  }, 'com.microsoft');
}

function rotate(e: Emitter, root: Node, side: Side, rank: (v: Value) => number, portable: boolean): Value {
  if (!side.rope) return side.heads.x3;
  const [cos, sin] = tables(e, root, side, rank);
  const attrs = { num_heads: int(side.heads.heads), rotary_embedding_dim: int(side.heads.headSize), interleaved: int(0) };
  if (!portable) {
    const start = shared(e, 'rotary_start', () => int64(e.graph, 'rotary_start', [0]));
    return op(e, root, 'RotaryEmbedding', [side.heads.x3, start, cos, sin], attrs, 'com.microsoft');
  }
  const positions = shared(e, `positions:${side.heads.batch}:${side.heads.seq}`, () => {
    const dims = new DimBuilder(e.graph);
    const seq = side.heads.seq?.value !== undefined ? int64(e.graph, 'seq', [side.heads.seq.value], []) : dims.scalar(side.heads.seq!, 'seq');
    const range = op(e, root, 'Range', [int64(e.graph, 'zero', [0], []), seq, int64(e.graph, 'one', [1], [])]);
    const row = op(e, root, 'Unsqueeze', [range, int64(e.graph, 'axis0', [0])]);
    const bs = [side.heads.batch ?? Sym.num(1), side.heads.seq ?? Sym.num(1)];
    const shape = bs.every((d) => d.isConst) ? int64(e.graph, 'positions_shape', bs.map((d) => d.value!)) : dims.vector(bs, 'positions_shape');
    return op(e, root, 'Expand', [row, shape]);
  });
  const { rotary_embedding_dim: _, ...portableAttrs } = attrs;
  return op(e, root, 'RotaryEmbedding', [side.heads.x3, cos, sin, positions], portableAttrs);
}

/** The additive mask as a [B|1, H|1, S, T] bias (expanded over the queries when it has one row). */
function bias(e: Emitter, root: Node, req: EmitRequest): Value {
  const m = req.additive!();
  if (!req.expandMask) return m;
  return shared(e, `expanded:${req.maskKey ?? ''}`, () => {
    const { seq } = req.core.q.heads;
    const kvSeq = req.core.k.heads.seq;
    const dims = [Sym.num(1), Sym.num(1), seq ?? Sym.num(1), kvSeq ?? Sym.num(1)];
    const shape = dims.every((d) => d.isConst) ? int64(e.graph, 'mask_shape', dims.map((d) => d.value!)) : new DimBuilder(e.graph).vector(dims, 'mask_shape');
    return op(e, root, 'Expand', [m, shape]);
  });
}

function emitMha(e: Emitter, root: Node, req: EmitRequest): Value {
  const { core, mask, rank } = req;
  e.model.requireOpset('com.microsoft', 1);
  const q3 = rotate(e, root, core.q, rank, false);
  let k3 = rotate(e, root, core.k, rank, false);
  let v3 = core.v.heads.x3;
  if (core.k.times > 1) {
    k3 = repeatHeads(e, root, k3, core.k);
    v3 = repeatHeads(e, root, v3, core.v);
  }
  const attrs: Record<string, AttributeValue> = { num_heads: int(core.q.heads.heads), scale: float(core.scale) };
  let kpm: Value | null = null;
  let biasValue: Value | null = null;
  if (mask.kind === 'causal' || (mask.kind === 'padding' && mask.causal)) attrs.unidirectional = int(1);
  if (mask.kind === 'padding') {
    const input = mask.input;
    kpm = shared(e, `kpm:${input.name}`, () => op(e, root, 'Cast', [input], { to: int(DType.INT32) }));
    attrs.mask_filter_value = float(mask.fill);
  }
  if (mask.kind === 'bias') biasValue = bias(e, root, req);
  return op(e, root, 'MultiHeadAttention', [q3, k3, v3, null, kpm, biasValue], attrs, 'com.microsoft');
}

/** com.microsoft Attention: projections, attention and mask in one operator. */
function emitAttention(e: Emitter, root: Node, req: EmitRequest): Value {
  const { core, mask } = req;
  const p = req.projections!;
  e.model.requireOpset('com.microsoft', 1);
  const { weight, bias: qkvBias } = p.build(e.graph);
  const attrs: Record<string, AttributeValue> = { num_heads: int(core.q.heads.heads), scale: float(core.scale) };
  if (p.widths[2] !== p.widths[0]) attrs.qkv_hidden_sizes = { type: 'ints', value: [...p.widths] };
  if (mask.kind === 'causal' || (mask.kind === 'padding' && mask.causal)) attrs.unidirectional = int(1);
  let maskIndex: Value | null = null;
  if (mask.kind === 'padding') {
    const input = mask.input;
    maskIndex = shared(e, `kpm:${input.name}`, () => op(e, root, 'Cast', [input], { to: int(DType.INT32) }));
    attrs.mask_filter_value = float(mask.fill);
  }
  const attentionBias = mask.kind === 'bias' ? bias(e, root, req) : null;
  // the bias is optional in the schema, but onnxruntime 1.30's CPU kernel crashes without it: always pass it
  return op(e, root, 'Attention', [p.x, weight, qkvBias, maskIndex, null, attentionBias], attrs, 'com.microsoft');
}

function emitPortable(e: Emitter, root: Node, req: EmitRequest): Value {
  const { core, mask, rank } = req;
  const q3 = rotate(e, root, core.q, rank, true);
  const k3 = rotate(e, root, core.k, rank, true);
  const causal = mask.kind === 'causal';
  // Attention-23 in onnxruntime returns zeros for a row whose mask is float32's lowest everywhere, where
  // the decomposed graph averages all values; any fill below -1e30 behaves the same otherwise
  const additive = mask.kind === 'none' || causal ? null : shared(e, `clamped:${req.maskKey ?? ''}`, () =>
    op(e, root, 'Max', [bias(e, root, req), float32(e.graph, 'mask_floor', [-1e30], [])]));
  return op(e, root, 'Attention', [q3, k3, core.v.heads.x3, additive], {
    q_num_heads: int(core.q.heads.heads), kv_num_heads: int(core.k.heads.heads), scale: float(core.scale), ...(causal ? { is_causal: int(1) } : {}),
  });
}
