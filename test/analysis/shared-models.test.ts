import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/io/load.js';
import { detectTransformer } from '../../src/analysis/transformer.js';
import { describeTransformer, type TransformerJson } from '../../src/analysis/describe.js';
import { summarizeModel } from '../../src/analysis/summary.js';
import quantizeWeightOnly from '../../passes/quantize/quantize-weight-only.js';
import { applyPass } from '../helpers/model.js';
import { sharedFile, skipWithoutShared } from '../helpers/shared.js';
import type { Model } from '../../src/ir/model.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { resolveSteps } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';

const inspect = (model: Model): TransformerJson => describeTransformer(detectTransformer(model));
const load = (name: string) => loadModel(sharedFile(name));

/** Every block's linear-layer roles, in order. */
const roles = (t: TransformerJson) => t.blocks.map((b) => b.linears.map((l) => l.role).join(' '));

describe('transformer structure of the exported models', { skip: skipWithoutShared }, () => {
  it('llama-tiny: 4 decoder blocks, GQA 8/2 heads, RoPE, RMSNorm, SwiGLU', () => {
    const t = inspect(load('llama-tiny.onnx'));
    assert.equal(t.blockCount, 4);
    assert.equal(t.method, 'residual-stream');
    assert.deepEqual([t.architecture.kind, t.architecture.family], ['decoder', 'llama-like']);
    assert.equal(t.layout, 'pre-norm');
    assert.equal(t.hiddenSize, 256);
    assert.ok(t.uniform);
    assert.deepEqual(t.attention, { form: 'decomposed', op: 'MatMul/Softmax/MatMul', heads: 8, kvHeads: 2, headDim: 32, groupedQuery: true, rope: true, kvCache: false });
    assert.deepEqual(t.norm, { kind: 'RMSNorm', form: 'decomposed', op: 'Pow/ReduceMean/Add/Sqrt/Div/Mul' });
    assert.equal(t.mlp?.kind, 'swiglu');
    assert.equal(t.mlp?.width, 768);
    assert.deepEqual(roles(t), Array(4).fill('q k v o gate up down'));
    assert.deepEqual(t.embeddings.map((e) => [e.role, e.rows, e.cols]), [['token', 256, 256]]);
    assert.equal(t.finalNorm?.kind, 'RMSNorm');
    assert.deepEqual([t.lmHead?.inFeatures, t.lmHead?.outFeatures, t.lmHead?.tied], [256, 256, false]);
  });

  it('llama-tiny fused each way: 8 heads of 32 in 2 key/value groups, whatever the op', async () => {
    const forms: [Record<string, unknown>, string][] = [
      [{}, 'com.microsoft.GroupQueryAttention'],
      [{ packProjections: false }, 'com.microsoft.GroupQueryAttention'],
      [{ groupQuery: false }, 'com.microsoft.MultiHeadAttention'],
      [{ target: 'portable' }, 'Attention'],
    ];
    for (const [options, op] of forms) {
      const model = load('llama-tiny.onnx');
      const steps = resolveSteps(['preset:fuse']).map((s) => (s.pass.name === 'fuse-attention' ? { pass: s.pass, options: s.pass.options.parse(options) } : s));
      await runSteps(model, steps, quietContext());
      const a = inspect(model).attention;
      assert.deepEqual([a?.form, a?.op, a?.heads, a?.kvHeads, a?.headDim, a?.groupedQuery, a?.rope], ['fused', op, 8, 2, 32, true, true], JSON.stringify(options));
    }
  });

  it('gpt2-tiny: 4 decoder blocks, 4 heads on a fused QKV Gemm, LayerNorm, tanh GELU, tied head', () => {
    const t = inspect(load('gpt2-tiny.onnx'));
    assert.equal(t.blockCount, 4);
    assert.deepEqual([t.architecture.kind, t.architecture.family], ['decoder', 'gpt2-like']);
    assert.deepEqual([t.attention?.heads, t.attention?.kvHeads, t.attention?.headDim, t.attention?.groupedQuery, t.attention?.rope], [4, 4, 64, false, false]);
    assert.deepEqual(t.norm, { kind: 'LayerNorm', form: 'fused', op: 'LayerNormalization' });
    assert.deepEqual([t.mlp?.kind, t.mlp?.width], ['gelu-tanh', 1024]);
    assert.deepEqual(roles(t), Array(4).fill('qkv o up down'));
    assert.ok(t.blocks[0]!.linears.every((l) => l.op === 'Gemm'));
    assert.deepEqual(t.embeddings.map((e) => e.role), ['token', 'position']);
    assert.equal(t.lmHead?.tied, true);
  });

  it('bert-tiny: 4 encoder blocks, post-norm, 4 heads, erf GELU', () => {
    const t = inspect(load('bert-tiny.onnx'));
    assert.equal(t.blockCount, 4);
    assert.deepEqual([t.architecture.kind, t.architecture.family], ['encoder', 'bert-like']);
    assert.equal(t.layout, 'post-norm');
    assert.deepEqual([t.attention?.heads, t.attention?.headDim, t.attention?.groupedQuery], [4, 64, false]);
    assert.deepEqual([t.mlp?.kind, t.mlp?.width], ['gelu-erf', 1024]);
    assert.equal(t.embeddingNorm?.kind, 'LayerNorm');
    assert.equal(t.finalNorm, null);
    assert.equal(t.lmHead?.outFeatures, 258);
  });

  for (const format of ['matmulnbits', 'qdq'] as const) {
    it(`llama-tiny quantized to 4 bits (${format}) keeps its 4 blocks and heads`, async () => {
      const { after } = await applyPass(quantizeWeightOnly, load('llama-tiny.onnx'), { format, searchScale: false });
      const t = inspect(after);
      assert.equal(t.blockCount, 4);
      assert.deepEqual([t.attention?.heads, t.attention?.kvHeads, t.attention?.rope, t.mlp?.kind], [8, 2, true, 'swiglu']);
      assert.deepEqual(roles(t), Array(4).fill('q k v o gate up down'));
      const form = format === 'qdq' ? 'int4 DequantizeLinear' : '4-bit MatMulNBits';
      assert.ok(t.blocks.every((b) => b.linears.every((l) => l.format === form)));
      const p = summarizeModel(after).parameters;
      // Quantized weights count by logical elements: the total stays that of the float model.
      assert.ok(Math.abs(p.total - 3.15e6) < 0.01e6, `total ${p.total}`);
      assert.equal(p.quantized.elements, 3_080_192);
      assert.ok(p.quantizationMetadata.tensors > 0);
    });
  }
});
