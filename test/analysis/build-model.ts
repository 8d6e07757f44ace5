/**
 * A whole small transformer: token embedding, N blocks (pre-norm; with `skip-simplified` the residual adds
 * are fused into SkipSimplifiedLayerNormalization as onnxruntime's optimizer writes them), final norm and
 * LM head. Decoders get a causal mask from position comparison; encoders a padding mask from an input.
 */
import type { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import { Builder, DEFAULTS, int, type TransformerOptions } from './build.js';
import { attention, type SharedInputs } from './build-attention.js';

export function buildTransformer(options: Partial<TransformerOptions> = {}): Model {
  const o = { ...DEFAULTS, ...options };
  const b = new Builder(o, o.attention === 'onnx-attention' || o.norm === 'rmsnormalization' ? 23 : 17);
  const g = b.model.graph;
  const ids = g.addInput('input_ids', { elemType: DType.INT64, shape: ['batch', 'seq'] });
  const shared = sharedInputs(b, ids);
  let h = b.one('Gather', [b.floats([o.vocab, o.hidden]), ids]);
  let final: Value;
  if (o.norm === 'skip-simplified') {
    let normed = b.one('SimplifiedLayerNormalization', [h, b.floats([o.hidden], 1)], { axis: int(-1) });
    const skip = (branch: Value) => {
      const [n, , , sum] = b.op('SkipSimplifiedLayerNormalization', [branch, h, b.floats([o.hidden], 1)], {}, 4, 'com.microsoft');
      [normed, h] = [n!, sum!];
    };
    for (let i = 0; i < o.blocks; i++) {
      skip(attention(b, normed, shared));
      skip(b.mlp(normed));
    }
    final = normed;
  } else {
    for (let i = 0; i < o.blocks; i++) {
      h = b.one('Add', [h, attention(b, b.norm(h), shared)]);
      h = b.one('Add', [h, b.mlp(b.norm(h))]);
    }
    final = b.norm(h);
  }
  const logits = b.linear(final, o.hidden, o.vocab);
  logits.type = { elemType: DType.FLOAT, shape: ['batch', 'seq', o.vocab] };
  g.outputs.push(logits);
  return b.model;
}

function int64Scalar(b: Builder, v: number): Value {
  return b.model.graph.addConstant('s', Tensor.fromTyped('s', DType.INT64, [], BigInt64Array.of(BigInt(v))));
}

/** Mask, rotary tables and the extra inputs fused ops read; computed once before the blocks. */
function sharedInputs(b: Builder, ids: Value): SharedInputs {
  const g = b.model.graph;
  const d = b.headDim;
  const seq = b.one('Gather', [b.one('Shape', [ids]), int64Scalar(b, 1)]);
  const pos = b.one('Range', [int64Scalar(b, 0), seq, int64Scalar(b, 1)]);
  let mask: Value;
  if (b.o.causal) {
    const visible = b.one('LessOrEqual', [b.one('Unsqueeze', [pos, b.int64s([0])]), b.one('Unsqueeze', [pos, b.int64s([1])])]);
    mask = b.one('Where', [visible, b.scalar(0), b.scalar(-1e9)]);
  } else {
    const am = g.addInput('attention_mask', { elemType: DType.INT64, shape: ['batch', 'seq'] });
    const m = b.one('Cast', [b.one('Unsqueeze', [am, b.int64s([1, 2])])], { to: int(DType.FLOAT) });
    mask = b.one('Mul', [b.one('Sub', [b.scalar(1), m]), b.scalar(-1e4)]);
  }
  const freqs = b.one('Mul', [b.one('Unsqueeze', [b.one('Cast', [pos], { to: int(DType.FLOAT) }), b.int64s([1])]), b.floats([d / 2], 0.5)]);
  const emb = b.one('Concat', [freqs, freqs], { axis: int(-1) });
  const fusedRope = b.o.attention !== 'decomposed' && b.o.rope;
  return {
    mask,
    cos: b.one('Cos', [emb]),
    sin: b.one('Sin', [emb]),
    cosCache: b.floats([64, d / 2], 1),
    sinCache: b.floats([64, d / 2]),
    positionIds: fusedRope ? g.addInput('position_ids', { elemType: DType.INT64, shape: ['batch', 'seq'] }) : pos,
    seqlensK: b.o.attention === 'ms-gqa' ? g.addInput('seqlens_k', { elemType: DType.INT32, shape: ['batch'] }) : pos,
    totalSequence: b.o.attention === 'ms-gqa' ? g.addInput('total_sequence_length', { elemType: DType.INT32, shape: [] }) : pos,
  };
}
