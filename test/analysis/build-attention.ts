/**
 * Attention sublayers for the test graphs, in each form:
 *   decomposed:     q/k/v products (or one cut by Slice), head split, rotate-half RoPE, K/V repeat for GQA,
 *                   MatMul/Softmax/MatMul
 *   ms-attention:   com.microsoft Attention (the QKV product inside the op)
 *   ms-mha:         q/k/v products -> [com.microsoft RotaryEmbedding] -> com.microsoft MultiHeadAttention
 *   ms-gqa:         q/k/v products -> com.microsoft GroupQueryAttention (do_rotary)
 *   onnx-attention: q/k/v products -> [RotaryEmbedding] -> Attention (ai.onnx opset 23)
 */
import type { Value } from '../../src/ir/value.js';
import { int, ints, type Builder } from './build.js';

export interface SharedInputs {
  /** Additive mask [.., seq, seq] or [batch, 1, 1, seq]. */
  readonly mask: Value;
  /** [seq, head_dim] tables for the rotate-half form. */
  readonly cos: Value;
  readonly sin: Value;
  /** [max_positions, head_dim / 2] caches and position ids for the fused rotary ops. */
  readonly cosCache: Value;
  readonly sinCache: Value;
  readonly positionIds: Value;
  readonly seqlensK: Value;
  readonly totalSequence: Value;
}

export function attention(b: Builder, x: Value, s: SharedInputs): Value {
  const { hidden, heads, kvHeads } = b.o;
  const d = b.headDim;
  if (b.o.attention === 'decomposed') return decomposed(b, x, s);
  if (b.o.attention === 'ms-attention') {
    const sizes = [hidden, kvHeads * d, kvHeads * d];
    const total = sizes.reduce((a, c) => a + c, 0);
    const attrs = { num_heads: int(heads), unidirectional: int(b.o.causal ? 1 : 0), ...(kvHeads < heads ? { qkv_hidden_sizes: ints(sizes) } : {}) };
    const out = b.one('Attention', [x, b.floats([hidden, total]), b.floats([total])], attrs, 'com.microsoft');
    return b.linear(out, hidden, hidden);
  }
  let q = b.linear(x, hidden, heads * d);
  let k = b.linear(x, hidden, kvHeads * d);
  const v = b.linear(x, hidden, kvHeads * d);
  let out: Value;
  if (b.o.attention === 'ms-gqa') {
    out = b.one('GroupQueryAttention', [q, k, v, null, null, s.seqlensK, s.totalSequence, s.cosCache, s.sinCache],
      { num_heads: int(heads), kv_num_heads: int(kvHeads), do_rotary: int(b.o.rope ? 1 : 0) }, 'com.microsoft');
  } else if (b.o.attention === 'ms-mha') {
    const rope = (t: Value) => b.one('RotaryEmbedding', [t, s.positionIds, s.cosCache, s.sinCache], {}, 'com.microsoft');
    if (b.o.rope) [q, k] = [rope(q), rope(k)];
    out = b.one('MultiHeadAttention', [q, k, v], { num_heads: int(heads), unidirectional: int(b.o.causal ? 1 : 0) }, 'com.microsoft');
  } else {
    const rope = (t: Value, n: number) => b.one('RotaryEmbedding', [t, s.cosCache, s.sinCache, s.positionIds], { num_heads: int(n) });
    if (b.o.rope) [q, k] = [rope(q, heads), rope(k, kvHeads)];
    out = b.one('Attention', [q, k, v], { q_num_heads: int(heads), kv_num_heads: int(kvHeads), is_causal: int(b.o.causal ? 1 : 0) });
  }
  return b.linear(out, hidden, hidden);
}

function decomposed(b: Builder, x: Value, s: SharedInputs): Value {
  const { hidden, heads, kvHeads } = b.o;
  const d = b.headDim;
  // With fused products the head count is left to the reshape (-1): it must come from the Slice widths.
  const split = (v: Value, n: number) => b.one('Transpose', [b.one('Reshape', [v, b.int64s([0, 0, b.o.fused ? -1 : n, d])])], { perm: ints([0, 2, 1, 3]) });
  const [pq, pk, pv] = b.linears(x, hidden, [heads * d, kvHeads * d, kvHeads * d]) as [Value, Value, Value];
  let [q, k, v] = [split(pq, heads), split(pk, kvHeads), split(pv, kvHeads)];
  if (b.o.rope) [q, k] = [rotate(b, q, s), rotate(b, k, s)];
  if (kvHeads < heads) [k, v] = [repeat(b, k), repeat(b, v)];
  const scores = b.one('Mul', [b.one('MatMul', [q, b.one('Transpose', [k], { perm: ints([0, 1, 3, 2]) })]), b.scalar(1 / Math.sqrt(d))]);
  const probs = b.one('Softmax', [b.one('Add', [scores, s.mask])], { axis: int(-1) });
  const merged = b.one('Reshape', [b.one('Transpose', [b.one('MatMul', [probs, v])], { perm: ints([0, 2, 1, 3]) }), b.int64s([0, 0, hidden])]);
  return b.linear(merged, hidden, hidden);
}

/** x*cos + Concat(-x2, x1)*sin over the last axis. */
function rotate(b: Builder, x: Value, s: SharedInputs): Value {
  const d = b.headDim;
  const rotated = b.one('Concat', [b.one('Neg', [b.part(x, d / 2, d)]), b.part(x, 0, d / 2)], { axis: int(-1) });
  return b.one('Add', [b.one('Mul', [x, s.cos]), b.one('Mul', [rotated, s.sin])]);
}

/** [b, kv, s, d] -> [b, heads, s, d]: each key/value head serves heads/kv query heads. */
function repeat(b: Builder, x: Value): Value {
  const rep = b.o.heads / b.o.kvHeads;
  const wide = b.one('Expand', [b.one('Unsqueeze', [x, b.int64s([2])]), b.int64s([1, 1, rep, 1, 1])]);
  return b.one('Reshape', [wide, b.int64s([0, b.o.heads, -1, b.headDim])]);
}
