/**
 * Scaled dot-product attention as exporters write it, matched from the merged-heads Reshape upwards:
 *
 *   q3 ─ split ─ [rope] ─ [scale] ──────────────────────────┐
 *   k3 ─ split ─ [rope] ─ [repeat] ─ Transpose ─ [scale] ─ MatMul ─ [scale] ─ [Add mask | Where] ─ Softmax ─┐
 *   v3 ─ split ─ [repeat] ────────────────────────────────────────────────────────────────────────── MatMul ─ Transpose ─ Reshape
 *
 * Scales are constant scalars on Q, K or the scores (sqrt-split included) and multiply into one.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import type { Capture } from '../../../src/pattern/match.js';
import { dimEquals, type Dim } from '../../../src/pattern/sym.js';
import { peelScale, repeatedHeads, splitHeads, type Heads } from './heads.js';
import { rope, type Rope } from './rope.js';

export interface Side {
  readonly heads: Heads;
  readonly rope?: Rope;
  /** Each head is repeated this many times (grouped-query keys and values). */
  readonly times: number;
}

export type MaskSpec =
  | { readonly kind: 'add'; readonly value: Value }
  | { readonly kind: 'where'; readonly cond: Value; readonly keepWhen: boolean; readonly fill: number };

export interface Core {
  readonly q: Side;
  readonly k: Side;
  readonly v: Side;
  readonly scale: number;
  readonly mask?: MaskSpec;
  /** [B, S, H * Dv] */
  readonly outShape: readonly Dim[];
}

/** A fill this negative removes a score from the softmax. */
export const MASKED = -1e4;

function qkvSide(v: Value, m: Capture, scale: { value: number }, repeat: boolean): Side | undefined {
  let x = peelScale(v, m, scale);
  const rep = repeat ? m.attempt(() => repeatedHeads(x, m)) : undefined;
  if (rep) x = peelScale(rep.kv, m, scale);
  const r = m.attempt(() => rope(x, m));
  if (r) x = peelScale(r.x, m, scale);
  const heads = splitHeads(x, m, 'bhsd');
  return heads ? { heads, times: rep?.times ?? 1, ...(r ? { rope: r } : {}) } : undefined;
}

function keySide(v: Value, m: Capture, scale: { value: number }): Side | undefined {
  const x = peelScale(v, m, scale);
  const direct = m.attempt(() => splitHeads(x, m, 'bhds'));
  if (direct) return { heads: direct, times: 1 };
  const t = m.op(x, 'Transpose');
  if (!t || t.getInts('perm')?.join() !== '0,1,3,2') return m.fail('keys are not transposed to [B, H, D, S]');
  return qkvSide(t.inputs[0]!, m, scale, true);
}

/** Softmax input -> the QK^T MatMul, the scale on the scores and the mask. */
function scores(v: Value, m: Capture, scale: { value: number }): { mm: Node; mask?: MaskSpec } | undefined {
  const viaWhere = m.attempt(() => {
    const w = m.op(v, 'Where');
    if (!w) return undefined;
    const [cond, a, b] = w.inputs;
    const fa = m.scalar(a), fb = m.scalar(b);
    const [x, keepWhen, fill] = fb !== undefined && fb <= MASKED ? [a!, true, fb] : fa !== undefined && fa <= MASKED ? [b!, false, fa] : [undefined, true, 0];
    const mm = x && m.op(peelScale(x, m, scale), 'MatMul');
    return mm && cond ? { mm, mask: { kind: 'where' as const, cond, keepWhen, fill } } : undefined;
  });
  if (viaWhere) return viaWhere;
  const viaAdd = m.attempt(() => {
    const add = m.op(v, 'Add');
    return add && m.either(add, (x, mask) => {
      const mm = m.op(peelScale(x, m, scale), 'MatMul');
      return mm ? { mm, mask: { kind: 'add' as const, value: mask } } : undefined;
    });
  });
  if (viaAdd) return viaAdd;
  const mm = m.op(peelScale(v, m, scale), 'MatMul');
  return mm ? { mm } : m.fail('the softmax input is not QK^T, scaled by a constant scalar, plus an optional mask');
}

/** Matches the attention whose merged output is `root` (a Reshape). */
export function matchCore(root: Node, m: Capture): Core | undefined {
  const t = m.op(root.inputs[0], 'Transpose');
  if (!t || t.getInts('perm')?.join() !== '0,2,1,3') return undefined;
  const ctxMM = m.op(t.inputs[0], 'MatMul');
  const sm = ctxMM && m.op(ctxMM.inputs[0], 'Softmax');
  if (!ctxMM || !sm) return undefined;
  const rank = m.facts.rank(sm.inputs[0]);
  if (rank !== 4 || m.axis(sm, -1) !== 3) return m.fail('the softmax is not over the keys of [B, H, S, T] scores');
  const scale = { value: 1 };
  const s = scores(sm.inputs[0]!, m, scale);
  if (!s) return undefined;
  const q = qkvSide(s.mm.inputs[0]!, m, scale, false);
  const k = q && keySide(s.mm.inputs[1]!, m, scale);
  const v = k && qkvSide(ctxMM.inputs[1]!, m, { value: 1 }, true);
  if (!q || !k || !v) return undefined;
  const outShape = m.facts.shape(root.output(0));
  const problem = consistency(q, k, v, outShape);
  if (problem) return m.fail(problem);
  if (!Number.isFinite(scale.value) || scale.value <= 0) return m.fail(`the combined scale ${scale.value} is not a positive number`);
  return { q, k, v, scale: scale.value, outShape: outShape!, ...(s.mask ? { mask: s.mask } : {}) };
}

function consistency(q: Side, k: Side, v: Side, out: readonly Dim[] | undefined): string | undefined {
  const heads = q.heads.heads;
  if (k.heads.heads * k.times !== heads || v.heads.heads * v.times !== heads || k.times !== v.times || k.heads.heads !== v.heads.heads) {
    return 'query, key and value head counts do not agree';
  }
  if (q.heads.headSize !== k.heads.headSize) return 'query and key head sizes differ';
  if (!dimEquals(q.heads.batch, k.heads.batch) || !dimEquals(q.heads.batch, v.heads.batch) || !dimEquals(k.heads.seq, v.heads.seq)) {
    return 'query, key and value do not share batch and key sequence';
  }
  if (!out || out.length !== 3 || !dimEquals(out[0], q.heads.batch) || !dimEquals(out[1], q.heads.seq) || out[2]?.value !== heads * v.heads.headSize) {
    return 'the merged output is not [B, S, H * D]';
  }
  if (!!k.rope !== !!q.rope) return 'only one of queries and keys is rotated';
  return undefined;
}
