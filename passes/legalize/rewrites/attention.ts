/**
 * onnxruntime attention ops -> opset-23 Attention or primitives (attention-core.ts), prompt form only
 * (no past key/value inputs):
 *   GroupQueryAttention(q, k, v | packed qkv, -, -, seqlens_k, total, cos, sin)
 *     -> [rotary(q), rotary(k)] -> Attention-23(q, k, v, padding mask from seqlens_k, is_causal)
 *   MultiHeadAttention(q, k, v[, bias][, key_padding_mask][, attention_bias])
 *     -> Attention-23(q (+bq), k (+bk), v (+bv), Where(mask, 0, mask_filter_value) + bias, is_causal = unidirectional)
 *   Attention(x, W[, b][, mask_index [B,T]][, -][, attention_bias])      (com.microsoft, packed projections)
 *     -> [q, k, v] = Split(x W + b) -> as MultiHeadAttention
 * Padding masks are expanded to [B, 1, S, T] (onnxruntime's Attention takes no broadcast query axis).
 * present_key/present_value outputs come from the new form. Seen after fuse-attention on LLaMA (GQA +
 * rotary), GPT-2 (causal MHA) and BERT (MHA with a padding mask) exports.
 */
import type { Node, AttributeValue } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import { Emitter, float, int, isUsed, replaceNode } from './emit.js';
import { cast, dimScalar, dimVector, positions, rankOf, unsqueeze } from './ops.js';
import { requireOpset } from './opset.js';
import { rotary } from './rotary.js';
import { attentionCore, MASKED, type CoreRequest } from './attention-core.js';
import type { Rewrite, RewriteContext } from './context.js';

/** What an attention node computes, whichever form it is emitted in. */
type Plan = CoreRequest;

/** [B, T] additive mask -> [B, 1, S, T] (S from q's axis 1). */
function expandMask(e: Emitter, additive: Value, q: Value): Value {
  const m4 = unsqueeze(e, additive, [1, 2]);
  const shape = e.op('Concat', [e.i64('ones', [1, 1]), dimVector(e, q, 1), e.i64('one', [1])], { axis: int(0) });
  return e.op('Expand', [m4, shape]);
}

function emit(ctx: RewriteContext, node: Node, e: Emitter, p: Plan): void {
  let outs: (Value | null)[];
  if (ctx.attentionForm === 'opset23') {
    requireOpset(ctx.model, 23);
    const attrs: Record<string, AttributeValue> = { q_num_heads: int(p.heads), kv_num_heads: int(p.kvHeads), ...(p.causal ? { is_causal: int(1) } : {}) };
    if (p.scale) attrs.scale = float(p.scale);
    const presents = isUsed(node, 1) || isUsed(node, 2);
    const n = e.node('Attention', [p.q, p.k, p.v, p.mask ?? null], attrs, presents ? 3 : 1);
    outs = [n.output(0), presents ? n.output(1) : null, presents ? n.output(2) : null];
  } else {
    const r = attentionCore(e, p);
    outs = [r.y, r.key, r.value];
  }
  replaceNode(node, outs);
}

/** Packed [B, S, (H + 2 KV) * D] -> q, k, v by heads (no head size needed). */
function unpackHeads(ctx: RewriteContext, e: Emitter, packed: Value, heads: readonly number[]): [Value, Value, Value] {
  const byHead = e.op('Reshape', [packed, e.i64('packed_heads', [0, 0, heads.reduce((a, b) => a + b, 0), -1])]);
  const split = (ctx.model.opsetVersion('') ?? 1) >= 13
    ? e.node('Split', [byHead, e.i64('head_split', heads)], { axis: int(2) }, 3)
    : e.node('Split', [byHead], { axis: int(2), split: { type: 'ints', value: heads } }, 3);
  const flat = (i: number) => e.op('Reshape', [split.output(i), e.i64('merge', [0, 0, -1])]);
  return [flat(0), flat(1), flat(2)];
}

/** seqlens_k = Expand(total - 1): every sequence is full, no padding mask needed. */
function fullLength(seqlens: Value, total: Value | null): boolean {
  const t = constantTensor(seqlens);
  const totalValue = total ? constantTensor(total)?.toNumbers()[0] : undefined;
  if (t && totalValue !== undefined) return t.toNumbers().every((v) => v === totalValue - 1);
  let p = seqlens.producer;
  if (p?.opType === 'Expand') p = p.inputs[0]?.producer;
  return p?.opType === 'Sub' && p.inputs[0] === total && constantTensor(p.inputs[1])?.toNumbers()[0] === 1;
}

/** Keys j <= seqlens_k[b] are valid: additive [B, T] mask. */
function seqlensMask(e: Emitter, seqlens: Value, k: Value): Value {
  const t = dimScalar(e, k, 1);
  const cols = unsqueeze(e, e.op('Range', [e.i64('zero', [0], []), t, e.i64('one', [1], [])]), [0]);
  const limit = unsqueeze(e, cast(e, seqlens, DType.INT64), [1]);
  return e.op('Where', [e.op('Greater', [cols, limit]), e.f('masked', [MASKED]), e.f('open', [0])]);
}

function gqa(ctx: RewriteContext, node: Node): boolean {
  const [q, k0, v0, pastK, pastV, seqlens, total, cos, sin, posIds, bias] = node.inputs;
  if (!k0 !== !v0) { ctx.explain(node, 'key without value'); return false; }
  if (pastK || pastV) { ctx.explain(node, 'past key/value (decoding) is not converted'); return false; }
  if (bias || node.getFloat('softcap', 0) || node.getInt('local_window_size', -1) !== -1 || node.getInt('smooth_softmax', 0)) {
    ctx.explain(node, 'attention bias, softcap, local window or smooth softmax'); return false;
  }
  const heads = node.getInt('num_heads', 0);
  const kvHeads = node.getInt('kv_num_heads', 0);
  // The opset moves before anything is emitted, so that new nodes are written for the final opset.
  if (ctx.attentionForm === 'opset23') requireOpset(ctx.model, 23);
  const e = new Emitter(node, ctx.types.get(q!) ?? DType.FLOAT);
  const [qs, k, v] = k0 && v0 ? [q!, k0, v0] : unpackHeads(ctx, e, q!, [heads, kvHeads, kvHeads]);
  let qr = qs, kr = k;
  if (node.getInt('do_rotary', 0)) {
    const pos = posIds ?? positions(e, qs, 1);
    const common = { cos: cos!, sin: sin!, positions: pos, interleaved: node.getInt('rotary_interleaved', 0) === 1, rotaryDim: 0 };
    const a = rotary(ctx, e, qs, { ...common, heads });
    const b = rotary(ctx, e, k, { ...common, heads: kvHeads });
    if (!a || !b) { ctx.explain(node, 'rotary width unknown'); return false; }
    qr = a; kr = b;
  }
  const mask = seqlens && !fullLength(seqlens, total ?? null) ? expandMask(e, seqlensMask(e, seqlens, kr), qr) : undefined;
  emit(ctx, node, e, { q: qr, k: kr, v, heads, kvHeads, scale: node.getFloat('scale', 0), causal: true, mask });
  return true;
}

function mha(ctx: RewriteContext, node: Node): boolean {
  const [q, k, v, bias, kpm, attnBias, pastK, pastV] = node.inputs;
  if (!k || !v || (rankOf(k) ?? 3) !== 3) { ctx.explain(node, 'packed or 4-D key/value'); return false; }
  if (pastK || pastV || node.inputs.slice(8).some((x) => x)) { ctx.explain(node, 'past key/value (decoding) is not converted'); return false; }
  const kpmRank = kpm ? rankOf(kpm) : undefined;
  if (kpm && kpmRank !== undefined && kpmRank !== 2) { ctx.explain(node, 'key padding mask is not [B, T]'); return false; }
  const heads = node.getInt('num_heads', 0);
  if (ctx.attentionForm === 'opset23') requireOpset(ctx.model, 23);
  const e = new Emitter(node, ctx.types.get(q!) ?? DType.FLOAT);
  let [qb, kb, vb] = [q!, k, v];
  if (bias) {
    const parts = e.node('Split', [bias], { axis: int(0), ...(ctx.model.opsetVersion('')! >= 18 ? { num_outputs: int(3) } : {}) }, 3);
    [qb, kb, vb] = [e.op('Add', [q!, parts.output(0)]), e.op('Add', [k, parts.output(1)]), e.op('Add', [v, parts.output(2)])];
  }
  const mask = paddingMask(e, node, kpm ?? null, attnBias ?? null, qb);
  emit(ctx, node, e, { q: qb, k: kb, v: vb, heads, kvHeads: heads, scale: node.getFloat('scale', 0), causal: node.getInt('unidirectional', 0) === 1, mask });
  return true;
}

/** The packed-projection Attention: x * W (+ b) split into q, k, v, then as MultiHeadAttention. */
function packedAttention(ctx: RewriteContext, node: Node): boolean {
  const [x, weights, bias, maskIndex, past, attnBias, pastLength] = node.inputs;
  if (past || pastLength || isUsed(node, 1)) { ctx.explain(node, 'past state (decoding) is not converted'); return false; }
  if (node.getInt('do_rotary', 0) || node.getInt('past_present_share_buffer', 0)) { ctx.explain(node, 'rotary inside Attention'); return false; }
  const total = constantTensor(weights)?.dims[1] ?? weights!.type?.shape?.[1];
  const widths = node.getInts('qkv_hidden_sizes') ?? (typeof total === 'number' ? [total / 3, total / 3, total / 3] : undefined);
  if (!widths || widths.length !== 3) { ctx.explain(node, 'projection widths unknown'); return false; }
  const maskRank = maskIndex ? rankOf(maskIndex) : undefined;
  if (maskIndex && maskRank !== undefined && maskRank !== 2) { ctx.explain(node, 'mask_index is not a [B, T] mask'); return false; }
  const heads = node.getInt('num_heads', 0);
  if (ctx.attentionForm === 'opset23') requireOpset(ctx.model, 23);
  const e = new Emitter(node, ctx.types.get(x!) ?? DType.FLOAT);
  const projected = e.op('MatMul', [x!, weights!]);
  const qkv = bias ? e.op('Add', [projected, bias]) : projected;
  const split = (ctx.model.opsetVersion('') ?? 1) >= 13
    ? e.node('Split', [qkv, e.i64('qkv_split', widths)], { axis: int(-1) }, 3)
    : e.node('Split', [qkv], { axis: int(-1), split: { type: 'ints', value: widths } }, 3);
  const [q, k, v] = [0, 1, 2].map((i) => split.output(i));
  const mask = paddingMask(e, node, maskIndex ?? null, attnBias ?? null, q!);
  emit(ctx, node, e, { q: q!, k: k!, v: v!, heads, kvHeads: heads, scale: node.getFloat('scale', 0), causal: node.getInt('unidirectional', 0) === 1, mask });
  return true;
}

/** Where(mask, 0, mask_filter_value) for a [B, T] key mask, plus an additive attention bias. */
function paddingMask(e: Emitter, node: Node, kpm: Value | null, attnBias: Value | null, q: Value): Value | undefined {
  let mask: Value | undefined;
  if (kpm) {
    const open = e.op('Cast', [kpm], { to: int(DType.BOOL) });
    mask = expandMask(e, e.op('Where', [open, e.f('open', [0]), e.f('filter', [node.getFloat('mask_filter_value', -10000)])]), q);
  }
  if (attnBias) mask = mask ? e.op('Add', [mask, attnBias]) : attnBias;
  return mask;
}

export const attentionRewrite: Rewrite = {
  name: 'attention',
  applies: () => true,
  run(ctx) {
    for (const node of ctx.nodes('GroupQueryAttention', ['com.microsoft'])) if (ctx.rejectsOp(node) && gqa(ctx, node)) ctx.count('groupQueryAttentions');
    for (const node of ctx.nodes('MultiHeadAttention', ['com.microsoft'])) if (ctx.rejectsOp(node) && mha(ctx, node)) ctx.count('multiHeadAttentions');
    for (const node of ctx.nodes('Attention', ['com.microsoft'])) if (ctx.rejectsOp(node) && packedAttention(ctx, node)) ctx.count('packedAttentions');
  },
};
