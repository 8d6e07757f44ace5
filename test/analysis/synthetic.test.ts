import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectTransformer } from '../../src/analysis/transformer.js';
import { describeTransformer, type TransformerJson } from '../../src/analysis/describe.js';
import { verifyModel } from '../../src/ir/verify.js';
import { buildTransformer } from './build-model.js';
import type { TransformerOptions } from './build.js';
import { mlpWithClutter } from '../helpers/tiny.js';

function inspect(options: Partial<TransformerOptions>): TransformerJson {
  const model = buildTransformer(options);
  verifyModel(model, 'test graph');
  return describeTransformer(detectTransformer(model));
}

interface Expected {
  readonly blocks?: number;
  readonly op: string;
  readonly heads: number;
  readonly kvHeads: number;
  readonly rope: boolean;
  readonly norm: string;
  readonly mlp?: string;
  readonly family?: string;
  readonly roles?: string;
}

const cases: readonly (readonly [string, Partial<TransformerOptions>, Expected])[] = [
  ['decomposed, RMSNorm, RoPE', {}, { op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 4, rope: true, norm: 'RMSNorm decomposed', roles: 'q k v o gate up down' }],
  ['decomposed GQA (K/V repeated)', { kvHeads: 2 }, { op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 2, rope: true, norm: 'RMSNorm decomposed' }],
  ['one QKV and one gate/up product cut by Slice', { fused: true, kvHeads: 2 }, { op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 2, rope: true, norm: 'RMSNorm decomposed', roles: 'qkv o gate_up down' }],
  ['three blocks share one mask', { blocks: 3 }, { blocks: 3, op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 4, rope: true, norm: 'RMSNorm decomposed' }],
  ['com.microsoft Attention (QKV inside)', { attention: 'ms-attention', rope: false }, { op: 'com.microsoft.Attention', heads: 4, kvHeads: 4, rope: false, norm: 'RMSNorm decomposed', roles: 'qkv o gate up down' }],
  ['com.microsoft Attention with qkv_hidden_sizes', { attention: 'ms-attention', kvHeads: 2, rope: false }, { op: 'com.microsoft.Attention', heads: 4, kvHeads: 2, rope: false, norm: 'RMSNorm decomposed' }],
  ['com.microsoft MultiHeadAttention + RotaryEmbedding', { attention: 'ms-mha' }, { op: 'com.microsoft.MultiHeadAttention', heads: 4, kvHeads: 4, rope: true, norm: 'RMSNorm decomposed' }],
  ['com.microsoft GroupQueryAttention', { attention: 'ms-gqa', kvHeads: 2, norm: 'simplified' }, { op: 'com.microsoft.GroupQueryAttention', heads: 4, kvHeads: 2, rope: true, norm: 'RMSNorm fused' }],
  ['ai.onnx Attention (opset 23) + RMSNormalization', { attention: 'onnx-attention', kvHeads: 1, norm: 'rmsnormalization' }, { op: 'Attention', heads: 4, kvHeads: 1, rope: true, norm: 'RMSNorm fused' }],
  ['SkipSimplifiedLayerNormalization residuals', { norm: 'skip-simplified', attention: 'ms-gqa', kvHeads: 2 }, { op: 'com.microsoft.GroupQueryAttention', heads: 4, kvHeads: 2, rope: true, norm: 'RMSNorm fused' }],
  ['MatMulNBits weights', { weights: 'matmulnbits', kvHeads: 2 }, { op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 2, rope: true, norm: 'RMSNorm decomposed', roles: 'q k v o gate up down' }],
  ['DequantizeLinear -> MatMul weights', { weights: 'qdq', kvHeads: 2 }, { op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 2, rope: true, norm: 'RMSNorm decomposed' }],
  ['MatMulNBits + fused GQA', { weights: 'matmulnbits', attention: 'ms-gqa', kvHeads: 2 }, { op: 'com.microsoft.GroupQueryAttention', heads: 4, kvHeads: 2, rope: true, norm: 'RMSNorm decomposed' }],
  ['LayerNorm + tanh GELU, no RoPE', { norm: 'layernorm', mlp: 'gelu-tanh', rope: false }, { op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 4, rope: false, norm: 'LayerNorm fused', mlp: 'gelu-tanh', family: 'gpt2-like', roles: 'q k v o up down' }],
  ['decomposed LayerNorm + erf GELU encoder', { norm: 'layernorm-decomposed', mlp: 'gelu-erf', rope: false, causal: false }, { op: 'MatMul/Softmax/MatMul', heads: 4, kvHeads: 4, rope: false, norm: 'LayerNorm decomposed', mlp: 'gelu-erf', family: 'bert-like' }],
];

describe('transformer detection on built graphs', () => {
  for (const [name, options, want] of cases) {
    it(name, () => {
      const t = inspect(options);
      assert.equal(t.blockCount, want.blocks ?? 2);
      assert.ok(t.uniform);
      const a = t.attention!;
      assert.deepEqual([a.op, a.heads, a.kvHeads, a.headDim, a.groupedQuery, a.rope], [want.op, want.heads, want.kvHeads, 16, want.kvHeads < want.heads, want.rope]);
      assert.equal(t.blocks.at(-1)!.norms.map((n) => `${n.kind} ${n.form}`)[0], want.norm);
      assert.equal(t.mlp?.kind, want.mlp ?? 'swiglu');
      assert.equal(t.mlp?.width, 128);
      assert.equal(t.architecture.family, want.family ?? 'llama-like');
      assert.equal(t.hiddenSize, 64);
      if (want.roles) for (const b of t.blocks) assert.equal(b.linears.map((l) => l.role).join(' '), want.roles);
      assert.deepEqual([t.lmHead?.inFeatures, t.lmHead?.outFeatures], [64, 32]);
    });
  }

  it('tells decoders from encoders by the mask, fused ops by their attributes', () => {
    assert.equal(inspect({ causal: true }).architecture.kind, 'decoder');
    assert.equal(inspect({ causal: false, rope: false }).architecture.kind, 'encoder');
    assert.equal(inspect({ attention: 'ms-mha', causal: false, rope: false }).architecture.kind, 'encoder');
    assert.equal(inspect({ attention: 'onnx-attention', causal: true, rope: false }).architecture.kind, 'decoder');
    assert.equal(inspect({ attention: 'ms-gqa' }).architecture.evidence.some((e) => e.includes('GroupQueryAttention')), true);
  });

  it('finds no blocks in a plain MLP', () => {
    const t = describeTransformer(detectTransformer(mlpWithClutter()));
    assert.equal(t.blockCount, 0);
    assert.equal(t.method, 'none');
    assert.equal(t.architecture.kind, 'unknown');
    assert.equal(t.attention, null);
  });
});
