import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../../src/ir/dtype.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import { checkModel } from '../../../src/targets/check.js';
import quantizeWeightOnly from '../../../passes/quantize/quantize-weight-only.js';
import { applyPass } from '../../helpers/model.js';
import { mlpWithClutter } from '../../helpers/tiny.js';
import { asymmetricGraph, gqaGraph, matMulIntegerGraph, mhaGraph, normGeluGraph, packedAttentionGraph, rotaryGraph } from '../../targets/graphs.js';
import { assertClean, assertClose, assertWithin, hasMicrosoftOps, legalize, opsOf, tensor } from '../../targets/harness.js';

describe('legalize-openvino', () => {
  it('rewrites GroupQueryAttention + rotary into MatMul/Softmax primitives at the model\'s opset, within 1e-5', async () => {
    const before = gqaGraph();
    const { after } = await legalize('openvino', before);
    assert.equal(after.opsetVersion(''), 17);
    assert.ok(!hasMicrosoftOps(after) && !opsOf(after).has('Attention'));
    assertClean(after, 'openvino');
    await assertWithin(before, after, 1e-5, randomFeeds(before, { dims: { batch: 2, seq: 5 }, seed: 4 }));
  });

  it('rewrites packed-QKV GroupQueryAttention and packed-projection Attention into primitives, within 1e-5', async () => {
    const gqa = gqaGraph(undefined, true, true);
    const { after } = await legalize('openvino', gqa);
    assertClean(after, 'openvino');
    await assertWithin(gqa, after, 1e-5, randomFeeds(gqa, { dims: { batch: 2, seq: 5 }, seed: 6 }));
    const attn = packedAttentionGraph(false);
    const { after: flat } = await legalize('openvino', attn);
    assertClean(flat, 'openvino');
    const feeds = { ...randomFeeds(attn, { dims: { batch: 2, seq: 4 } }), attention_mask: tensor(DType.INT32, [2, 4], Int32Array.of(1, 1, 0, 0, 1, 1, 1, 1)) };
    await assertWithin(attn, flat, 1e-5, feeds);
  });

  it('can emit Attention-23 instead (attention: opset23)', async () => {
    const before = gqaGraph();
    const { after } = await legalize('openvino', before, { attention: 'opset23' });
    assert.ok(opsOf(after).has('Attention') && opsOf(after).has('RotaryEmbedding'));
    await assertWithin(before, after, 1e-5, randomFeeds(before, { dims: { batch: 2, seq: 5 }, seed: 4 }));
  });

  it('rewrites causal MultiHeadAttention with a padding mask into primitives, within 1e-5', async () => {
    const before = mhaGraph(true);
    const { after } = await legalize('openvino', before);
    assertClean(after, 'openvino');
    const feeds = { ...randomFeeds(before, { dims: { batch: 2, seq: 4 } }), attention_mask: tensor(DType.INT32, [2, 4], Int32Array.of(1, 1, 1, 1, 1, 1, 1, 0)) };
    await assertWithin(before, after, 1e-5, feeds);
  });

  for (const interleaved of [false, true]) {
    for (const offset of [false, true]) {
      it(`rewrites com.microsoft RotaryEmbedding (${interleaved ? 'interleaved' : 'halves'}, ${offset ? 'offset' : 'position ids'}) in both forms`, async () => {
        const before = rotaryGraph(interleaved, offset);
        for (const attention of ['primitive', 'opset23'] as const) {
          const { after, result } = await legalize('openvino', before, { attention });
          assert.equal(result.stats.rotaries, 1, attention);
          await assertWithin(before, after, 1e-6);
        }
      });
    }
  }

  it('decomposes norms and GELUs into primitives, within 1e-5', async () => {
    const before = normGeluGraph();
    const { after } = await legalize('openvino', before);
    assertClean(after, 'openvino');
    assert.ok(!opsOf(after).has('SimplifiedLayerNormalization'));
    await assertWithin(before, after, 1e-5);
  });

  it('requantizes asymmetric per-channel weights to symmetric s8, keeps u8 activations', async () => {
    const before = asymmetricGraph();
    const { after, result } = await legalize('openvino', before);
    assert.equal(result.stats.weightsRequantized, 1);
    assert.equal(result.stats.activationsSymmetric, undefined);
    assert.deepEqual(checkModel(after, 'openvino'), []);
    await assertClose(before, after, 0.01, 0.9999);
  });

  it('moves MatMulInteger to Q/DQ exactly (integer sums stay exact in float32)', async () => {
    const before = matMulIntegerGraph();
    const { after, result } = await legalize('openvino', before);
    assert.equal(result.stats.matMulIntegers, 1);
    assert.deepEqual(checkModel(after, 'openvino'), []);
    const feeds = { a: tensor(DType.UINT8, [4, 32], Uint8Array.from({ length: 128 }, (_, i) => (i * 97) % 256)) };
    await assertWithin(before, after, 0, feeds);
  });

  it('moves MatMulNBits to DequantizeLinear(block_size), bit for bit, symmetric and asymmetric', async () => {
    for (const symmetric of [true, false]) {
      const { after: before } = await applyPass(quantizeWeightOnly, mlpWithClutter(), { format: 'matmulnbits', blockSize: 16, symmetric, accuracyLevel: 0 });
      const { after, result } = await legalize('openvino', before);
      assert.equal(result.stats.matMulNBitsToDq, 2);
      assert.ok(!hasMicrosoftOps(after));
      assert.deepEqual(checkModel(after, 'openvino'), [], `symmetric ${symmetric}`);
      await assertWithin(before, after, 0);
      // And back, for the CPU: the same bytes again.
      const { after: back } = await legalize('cpu', after);
      await assertWithin(before, back, 0);
      const bytes = (m: typeof before) => m.graph.nodes.filter((n) => n.opType === 'MatMulNBits').map((n) => [1, 2, 3].map((i) => (n.inputs[i] ? Buffer.from(n.inputs[i]!.initializer!.bytes()).toString('hex') : '')).join('/'));
      assert.deepEqual(bytes(back).sort(), bytes(before).sort());
    }
  });
});
