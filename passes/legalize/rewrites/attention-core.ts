/**
 * Scaled dot-product attention from primitives, for targets without a fused attention op:
 *
 *   q [B,S,H*D] -> Reshape [B,S,H,D] -> Transpose [B,H,S,D] ─┐
 *   k [B,T,KV*D] -> ... [B,KV,T,D] -> repeat heads H/KV -> Transpose [B,H,D,T] ─ MatMul -> * scale (+ causal) (+ mask)
 *   -> Softmax(-1) -> MatMul(v heads) -> Transpose [B,S,H,D] -> Reshape [B,S,H*D]
 *
 * Causal masking is bottom-right aligned (key j visible to query i when j <= i + T - S); masked scores get
 * -1e30 (the float16 minimum in 16-bit models), which softmax turns into exact zeros.
 */
import type { Value } from '../../../src/ir/value.js';
import { Emitter, int, ints } from './emit.js';
import { cast, dimScalar, dimVector, unsqueeze } from './ops.js';

export interface CoreRequest {
  readonly q: Value;
  readonly k: Value;
  readonly v: Value;
  readonly heads: number;
  readonly kvHeads: number;
  /** 0 = 1/sqrt(head size). */
  readonly scale: number;
  readonly causal: boolean;
  /** Additive mask broadcastable to [B, H, S, T]. */
  readonly mask?: Value;
}

export interface CoreResult {
  readonly y: Value;
  /** Keys and values in [B, KV, T, D] (what present_key/present_value hold without a past). */
  readonly key: Value;
  readonly value: Value;
}

export const MASKED = -1e30;

function split(e: Emitter, x: Value, heads: number): Value {
  return e.op('Transpose', [e.op('Reshape', [x, e.i64('split_heads', [0, 0, heads, -1])])], { perm: ints([0, 2, 1, 3]) });
}

/** [B, KV, T, D] -> [B, KV*G, T, D], each head repeated G times in place. */
function repeat(e: Emitter, x: Value, kvHeads: number, groups: number): Value {
  if (groups === 1) return x;
  const wide = e.op('Expand', [unsqueeze(e, x, [2]), e.i64('repeat', [1, 1, groups, 1, 1])]);
  const shape = e.op('Concat', [dimVector(e, x, 0), e.i64('heads', [kvHeads * groups]), e.i64('rest', [-1]), dimVector(e, x, 3)], { axis: int(0) });
  return e.op('Reshape', [wide, shape]);
}

/** [S, T] additive causal mask for the query/key lengths of q4/k4 ([B,H,S,D], [B,H,T,D]). */
function causalMask(e: Emitter, q4: Value, k4: Value): Value {
  const s = dimScalar(e, q4, 2);
  const t = dimScalar(e, k4, 2);
  const zero = e.i64('zero', [0], []);
  const one = e.i64('one', [1], []);
  const rows = unsqueeze(e, e.op('Add', [e.op('Range', [zero, s, one]), e.op('Sub', [t, s])]), [1]);
  const cols = unsqueeze(e, e.op('Range', [zero, t, one]), [0]);
  return e.op('Where', [e.op('Greater', [cols, rows]), e.f('masked', [MASKED]), e.f('open', [0])]);
}

export function attentionCore(e: Emitter, r: CoreRequest): CoreResult {
  const q4 = split(e, r.q, r.heads);
  const key = split(e, r.k, r.kvHeads);
  const value = split(e, r.v, r.kvHeads);
  const groups = r.heads / r.kvHeads;
  const kx = repeat(e, key, r.kvHeads, groups);
  const vx = repeat(e, value, r.kvHeads, groups);
  const scores = e.op('MatMul', [q4, e.op('Transpose', [kx], { perm: ints([0, 1, 3, 2]) })]);
  const scale = r.scale
    ? e.f('scale', [r.scale])
    : e.op('Reciprocal', [e.op('Sqrt', [cast(e, dimScalar(e, q4, 3), e.floatType)])]);
  let logits = e.op('Mul', [scores, scale]);
  if (r.causal) logits = e.op('Add', [logits, causalMask(e, q4, kx)]);
  if (r.mask) logits = e.op('Add', [logits, r.mask]);
  const probs = e.op('Softmax', [logits], { axis: int(-1) });
  const o4 = e.op('MatMul', [probs, vx]);
  const y = e.op('Reshape', [e.op('Transpose', [o4], { perm: ints([0, 2, 1, 3]) }), e.i64('merge_heads', [0, 0, -1])]);
  return { y, key, value };
}
