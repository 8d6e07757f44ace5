/**
 * Rotary position embedding in the rotate-half form, on [B, H, S, D] heads:
 *
 *   x * cos + Concat(-x[..., D/2:], x[..., :D/2]) * sin        (Slice or Split for the halves)
 *
 * cos and sin are whatever the model computes ([B|1, 1, S, D] or [S, D]); fuse-attention checks by running
 * them that they are the same for every batch row and that both halves repeat (cos(p * f) for f twice).
 */
import type { Value } from '../../../src/ir/value.js';
import type { Capture } from '../../../src/pattern/match.js';
import { normAxis } from '../../../src/pattern/infer-util.js';

export interface Rope {
  /** The heads before rotation. */
  readonly x: Value;
  readonly cos: Value;
  readonly sin: Value;
}

/** x[..., from:to] on the last axis (Slice with constant bounds). */
function lastAxisSlice(v: Value, m: Capture, from: number, to: number): Value | undefined {
  const s = m.op(v, 'Slice');
  if (!s) return undefined;
  const rank = m.facts.rank(s.inputs[0]) ?? 0;
  const [start] = m.facts.numbers(s.inputs[1]) ?? [];
  const [end] = m.facts.numbers(s.inputs[2]) ?? [];
  const axes = s.inputs[3] ? m.facts.numbers(s.inputs[3]) : [0];
  const steps = s.inputs[4] ? m.facts.numbers(s.inputs[4]) : [1];
  const d = m.facts.shape(s.inputs[0])?.[rank - 1]?.value;
  if (start === undefined || end === undefined || !axes || axes.length !== 1 || steps?.[0] !== 1 || d === undefined) return undefined;
  const norm = (x: number) => Math.min(Math.max(x < 0 ? x + d : x, 0), d);
  return normAxis(axes[0]!, rank) === rank - 1 && norm(start) === from && norm(end) === to ? s.inputs[0]! : undefined;
}

/** Concat(Neg(x2), x1) with x1, x2 the halves of the same x -> x. */
function rotateHalf(v: Value, m: Capture): Value | undefined {
  const c = m.op(v, 'Concat');
  if (!c || c.inputs.length !== 2) return undefined;
  const rank = m.facts.rank(c.inputs[0]);
  const d = m.facts.shape(v)?.[(rank ?? 0) - 1]?.value;
  if (rank === undefined || d === undefined || d % 2 !== 0 || m.axis(c, 0) !== rank - 1) return undefined;
  const neg = m.op(c.inputs[0], 'Neg');
  if (!neg) return undefined;
  const split = m.attempt(() => {
    const a = m.op(neg.inputs[0], 'Split');
    const b = a && m.op(c.inputs[1], 'Split');
    const sizes = a && (a.inputs[1] ? m.facts.numbers(a.inputs[1]) : a.getInts('split') ?? [d / 2, d / 2]);
    const ok = a && a === b && a.outputs.length === 2 && m.axis(a, 0) === rank - 1 && sizes?.join() === `${d / 2},${d / 2}`
      && neg.inputs[0] === a.outputs[1] && c.inputs[1] === a.outputs[0];
    return ok ? a.inputs[0]! : undefined;
  });
  if (split) return split;
  const x2 = lastAxisSlice(neg.inputs[0]!, m, d / 2, d);
  const x1 = lastAxisSlice(c.inputs[1]!, m, 0, d / 2);
  return x1 && x2 && m.same(x1, x2) ? x1 : m.fail('the rotated halves are not [-x2, x1] of the same x');
}

/** x * cos + rotate_half(x) * sin, any operand order. */
export function rope(v: Value, m: Capture): Rope | undefined {
  const add = m.op(v, 'Add');
  if (!add) return undefined;
  return m.either(add, (p1, p2) => {
    const mulSin = m.op(p2, 'Mul');
    const rotated = mulSin && m.either(mulSin, (r, sin) => {
      const x = rotateHalf(r, m);
      return x ? { x, sin } : undefined;
    });
    if (!rotated) return undefined;
    const mulCos = m.op(p1, 'Mul');
    return mulCos && m.either(mulCos, (x, cos) => (m.same(x, rotated.x) ? { x: rotated.x, cos, sin: rotated.sin } : undefined));
  });
}
