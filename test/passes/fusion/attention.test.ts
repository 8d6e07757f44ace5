import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import foldShapeConstants from '../../../passes/fusion/fold-shape-constants.js';
import fuseAttention from '../../../passes/fusion/fuse-attention.js';
import { applyPass, assertSameOutputs, opTypes } from '../../helpers/model.js';
import type { Model } from '../../../src/ir/model.js';
import { buildBert, buildGpt2, buildLlama, type Style } from '../../../fixtures/build/index.js';
import { attention, tokenFeeds, type AttentionOptions } from './graphs.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';
import { DType } from '../../../src/ir/dtype.js';
import type { HostTensor } from '../../../src/runtime/tensors.js';

/** fp32 attention: fused kernels sum in another order; 1e-4 on logits, 1e-5 on the small blocks. */
const LOGITS = 1e-4;

async function fuse(model: Model, options: { target?: 'contrib' | 'portable'; packProjections?: boolean } = {}) {
  const folded = (await applyPass(foldShapeConstants, model)).after;
  return applyPass(fuseAttention, folded, options);
}

const count = (m: Model, op: string) => opTypes(m).filter((t) => t.endsWith(op)).length;

describe('fuse-attention on one block', () => {
  const block = (o: AttentionOptions) => attention(o);
  const cases: [string, AttentionOptions, string, boolean][] = [
    ['no mask, scale on the scores', {}, 'MultiHeadAttention', false],
    ['sqrt-split scale on Q and K, causal mask from Trilu + Where', { scale: 'split', mask: 'causal' }, 'MultiHeadAttention', false],
    ['a padding mask from attention_mask', { mask: 'padding' }, 'MultiHeadAttention', true],
    ['a mask computed from token ids (passed as attention_bias)', { mask: 'from-ids' }, 'MultiHeadAttention', true],
  ];
  for (const [what, options, op, padded] of cases) {
    it(`fuses ${what} within 1e-5`, async () => {
      const before = block(options);
      const { after, result } = await fuse(before, { packProjections: false });
      assert.equal(result.stats.multiHeadAttention, 1);
      assert.equal(count(after, op), 1);
      assert.ok(!opTypes(after).includes('Softmax'));
      const feeds = tokenFeeds(before, 2, 6, { padded, vocab: 5 });
      await assertSameOutputs(before, after, { atol: 1e-5, dims: { batch: 2, seq: 6 }, ...(padded ? { feeds: { ...feeds, x: randomX(before) } } : {}) });
      assert.equal((await applyPass(fuseAttention, after)).result.modified, false);
    });
  }

  it('packs the three projections into com.microsoft Attention, within 1e-5', async () => {
    const before = block({ mask: 'padding' });
    const { after, result } = await fuse(before);
    assert.deepEqual([result.stats.attention, result.stats.packedProjections], [1, 1]);
    assert.deepEqual(opTypes(after).filter((t) => t !== 'Cast'), ['com.microsoft.Attention', 'MatMul']);
    await assertSameOutputs(before, after, { atol: 1e-5, feeds: { ...tokenFeeds(before, 2, 6, { padded: true }), x: randomX(before) } });
  });

  it('marks a causal mask unidirectional and a padding mask as key_padding_mask', async () => {
    const causal = (await fuse(block({ mask: 'causal' }), { packProjections: false })).after.graph.nodes.find((n) => n.opType === 'MultiHeadAttention')!;
    assert.equal(causal.getInt('unidirectional'), 1);
    const padding = (await fuse(block({ mask: 'padding' }), { packProjections: false })).after.graph.nodes.find((n) => n.opType === 'MultiHeadAttention')!;
    assert.equal(padding.inputs[4]?.producer?.opType, 'Cast');
    const ids = (await fuse(block({ mask: 'from-ids' }), { packProjections: false })).after.graph.nodes.find((n) => n.opType === 'MultiHeadAttention')!;
    assert.equal(ids.inputs[5]?.producer?.opType, 'Expand');
  });

  it('emits opset-23 Attention for target portable, within 1e-5', async () => {
    const before = block({ mask: 'padding' });
    const { after, result } = await fuse(before, { target: 'portable' });
    assert.equal(result.stats.attention23, 1);
    assert.equal(after.opsetVersion(''), 23);
    await assertSameOutputs(before, after, { atol: 1e-5, feeds: { ...tokenFeeds(before, 2, 6, { padded: true }), x: randomX(before) } });
  });

  const misses: [string, AttentionOptions][] = [
    ['an odd scale (one per head)', { scale: 'per-head' }],
    ['a scale read from an input', { scale: 'runtime' }],
    ['an unsupported (soft, -5) Where mask', { mask: 'soft' }],
    ['a multiplicative mask', { mask: 'multiply' }],
    ['probabilities also read outside the pattern', { leak: true }],
  ];
  for (const [what, options] of misses) {
    it(`leaves ${what} alone`, async () => {
      const { after, result } = await fuse(block(options));
      assert.equal(result.modified, false);
      assert.ok(opTypes(after).includes('Softmax'));
    });
  }
});

/** The x input of the one-block graphs, [2, 6, 16] uniform in [-0.5, 0.5) (the other feeds are token rows). */
function randomX(model: Model): HostTensor {
  const rand = mulberry32(7);
  const [batch, seq] = [2, 6];
  const width = Number(model.graph.inputs[0]!.type!.shape![2]);
  return { dtype: DType.FLOAT, dims: [batch, seq, width], data: Float32Array.from({ length: batch * seq * width }, () => rand() - 0.5) };
}

describe('fuse-attention on the fixture models', () => {
  const styles: Style[] = ['torchscript', 'dynamo'];
  for (const style of styles) {
    it(`LLaMA (${style}): grouped-query attention with RoPE -> GroupQueryAttention`, async () => {
      const before = buildLlama({ style, kvHeads: 2 });
      const { after, result } = await fuse(before);
      assert.deepEqual([result.stats.groupQueryAttention, result.stats.rotary], [2, 2]);
      assert.ok(!opTypes(after).includes('Softmax') && !opTypes(after).includes('Neg'));
      await assertSameOutputs(before, after, { atol: LOGITS, feeds: tokenFeeds(before, 2, 9) });
    });

    it(`GPT-2 (${style}): causal attention with packed Conv1D projections -> Attention`, async () => {
      const before = buildGpt2({ style });
      const { after, result } = await fuse(before);
      assert.deepEqual([result.stats.attention, result.stats.packedProjections], [2, 2]);
      assert.equal(count(after, 'Gemm'), 6);   // 8 before: the two c_attn projections are now inside Attention
      assert.equal(count(after, 'Softmax'), 0);
      await assertSameOutputs(before, after, { atol: LOGITS, feeds: tokenFeeds(before, 2, 9) });
    });

    it(`BERT (${style}): padding mask -> Attention with the projections and a mask index`, async () => {
      const before = buildBert({ style });
      const { after, result } = await fuse(before);
      assert.equal(result.stats.attention, 2);
      await assertSameOutputs(before, after, { atol: LOGITS, feeds: tokenFeeds(before, 3, 9, { padded: true }) });
    });
  }

  it('LLaMA with attention_mask: causal + padding -> MultiHeadAttention with RotaryEmbedding and repeated heads', async () => {
    const before = buildLlama({ kvHeads: 2, attentionMask: true });
    const { after, result } = await fuse(before);
    assert.deepEqual([result.stats.multiHeadAttention, result.stats.rotary], [2, 2]);
    assert.equal(count(after, 'RotaryEmbedding'), 4);
    await assertSameOutputs(before, after, { atol: LOGITS, feeds: tokenFeeds(before, 3, 9, { padded: true }) });
  });

  it('LLaMA, target portable -> Attention-23 and RotaryEmbedding-23', async () => {
    const before = buildLlama({ kvHeads: 2 });
    const { after, result } = await fuse(before, { target: 'portable' });
    assert.equal(result.stats.attention23, 2);
    assert.ok(opTypes(after).includes('RotaryEmbedding') && opTypes(after).includes('Attention'));
    await assertSameOutputs(before, after, { atol: LOGITS, feeds: tokenFeeds(before, 2, 9) });
  });
});
