/**
 * The head layout around an attention core:
 *   split heads:  Transpose(Reshape(x [B, S, H*D], [B, S, H, D]), perm)   perm [0,2,1,3] -> [B, H, S, D]
 *                                                                         perm [0,2,3,1] -> [B, H, D, S] (keys)
 *   repeat heads: Reshape(Expand|Tile(Unsqueeze(kv [B, KV, S, D], 2), n), [B, KV*n, S, D])   (grouped-query)
 *   scalar scale: Mul(x, c) / Div(x, c) anywhere on the way (it commutes with all of the above)
 */
import type { Value } from '../../../src/ir/value.js';
import type { Capture } from '../../../src/pattern/match.js';
import { dimEquals, numbers, type Dim } from '../../../src/pattern/sym.js';
import { normAxis } from '../../../src/pattern/infer-util.js';

export interface Heads {
  /** [batch, sequence, heads * headSize] */
  readonly x3: Value;
  readonly heads: number;
  readonly headSize: number;
  readonly batch: Dim;
  readonly seq: Dim;
}

const PERMS = { bhsd: [0, 2, 1, 3], bhds: [0, 2, 3, 1] } as const;

/** Multiplies `scale.value` by every constant scalar Mul/Div in front of `v`; returns the value behind them. */
export function peelScale(v: Value, m: Capture, scale: { value: number }): Value {
  for (;;) {
    const next = m.attempt(() => {
      const n = m.op(v, ['Mul', 'Div']);
      if (!n) return undefined;
      if (n.opType === 'Div') {
        const c = m.scalar(n.inputs[1]);
        return c ? { x: n.inputs[0]!, f: 1 / c } : undefined;
      }
      return m.either(n, (x, c) => {
        const f = m.scalar(c);
        return f !== undefined && m.facts.scalar(x) === undefined ? { x, f } : undefined;
      });
    });
    if (!next) return v;
    scale.value *= next.f;
    v = next.x;
  }
}

/** Transpose(Reshape(x3)) into [B, H, S, D] ('bhsd') or [B, H, D, S] ('bhds'). */
export function splitHeads(v: Value, m: Capture, layout: keyof typeof PERMS): Heads | undefined {
  const t = m.op(v, 'Transpose');
  if (!t) return m.fail('no Transpose into heads');
  const perm = t.getInts('perm');
  if (!perm || perm.join() !== PERMS[layout].join()) return m.fail(`the head transpose is not [${PERMS[layout].join(', ')}]`);
  const r = m.op(t.inputs[0], 'Reshape');
  if (!r) return m.fail('no Reshape into heads');
  const x3 = r.inputs[0]!;
  const inShape = m.facts.shape(x3);
  const outShape = m.facts.shape(r.output(0));
  const [h, d] = numbers(outShape?.slice(2)) ?? [];
  if (!inShape || inShape.length !== 3 || !outShape || outShape.length !== 4 || h === undefined || d === undefined) {
    return m.fail('the head split is not [B, S, H*D] -> [B, S, H, D] with static H and D');
  }
  if (!dimEquals(inShape[0], outShape[0]) || !dimEquals(inShape[1], outShape[1]) || inShape[2]?.value !== h * d) {
    return m.fail('the head split does not keep batch and sequence');
  }
  return { x3, heads: h, headSize: d, batch: inShape[0], seq: inShape[1] };
}

/** Reshape(Expand|Tile(Unsqueeze(kv, 2))) repeating each of KV heads n times in place -> kv, n. */
export function repeatedHeads(v: Value, m: Capture): { kv: Value; times: number } | undefined {
  const r = m.op(v, 'Reshape');
  const e = r && m.op(r.inputs[0], ['Expand', 'Tile']);
  const u = e && m.op(e.inputs[0], 'Unsqueeze');
  if (!r || !e || !u) return undefined;
  const kv = u.inputs[0]!;
  const kvShape = m.facts.shape(kv);
  const axes = u.inputs[1] ? m.facts.numbers(u.inputs[1]) : u.getInts('axes');
  if (!kvShape || kvShape.length !== 4 || !axes || axes.length !== 1 || normAxis(axes[0]!, 5) !== 2) return m.fail('the head repeat does not insert an axis after the heads');
  const expanded = m.facts.shape(e.output(0));
  const out = m.facts.shape(r.output(0));
  const times = expanded?.[2]?.value;
  const kvHeads = kvShape[1]?.value;
  if (!expanded || !out || times === undefined || kvHeads === undefined || out.length !== 4) return m.fail('the head repeat count is not static');
  const keeps = [0, 1, 3, 4].every((i) => dimEquals(expanded[i], kvShape[i < 2 ? i : i - 1]));
  const merged = out[1]?.value === kvHeads * times && dimEquals(out[0], kvShape[0]) && dimEquals(out[2], kvShape[2]) && dimEquals(out[3], kvShape[3]);
  return keeps && merged ? { kv, times } : m.fail('the head repeat does not repeat each key/value head in place');
}
