import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../../src/ir/dtype.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import { mlpWithClutter, newModel, randomWeight } from '../../helpers/tiny.js';
import { checkModel } from '../../../src/targets/check.js';
import type { Model } from '../../../src/ir/model.js';
import { asymmetricGraph, biasDqGraph, dynamicMatMulGraph, gqaGraph, mhaGraph, normGeluGraph, packedAttentionGraph, qoperatorGraph, rotaryGraph } from '../../targets/graphs.js';
import { assertClean, assertClose, assertWithin, hasMicrosoftOps, legalize, opsOf, tensor } from '../../targets/harness.js';

const GQA_FEEDS = { dims: { batch: 2, seq: 5 }, seed: 3 };

/** x -> RMSNormalization-23 -> y */
function rmsGraph(): Model {
  const m = newModel(23);
  m.irVersion = 11; // what opset 23 needs
  const x = m.graph.addInput('x', { elemType: DType.FLOAT, shape: [2, 3, 16] });
  const n = m.graph.addNode({ opType: 'RMSNormalization', inputs: [x, randomWeight(m, 'gamma', [16], 1)], outputs: ['y'], attributes: { epsilon: { type: 'float', value: 1e-6 } } });
  m.graph.outputs.push(n.output(0));
  return m;
}

describe('legalize-tensorrt', () => {
  it('turns a dequantized bias into a float bias, exactly', async () => {
    const before = biasDqGraph();
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.biasDequantized, 1);
    assertClean(after, 'tensorrt');
    await assertWithin(before, after, 0);
  });

  it('requantizes asymmetric u8 weights and activations to symmetric int8 (error growth reported)', async () => {
    const before = asymmetricGraph();
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.weightsRequantized, 1);
    assert.equal(result.stats.activationsSymmetric, 1);
    assert.ok(result.stats.requantizeErrorMax! > 0 && result.stats.requantizeErrorMax! < 0.01, `weight error ${result.stats.requantizeErrorMax}`);
    assertClean(after, 'tensorrt');
    const w = after.graph.nodes.find((n) => n.name === 'w_dq')!;
    assert.equal(constantTensor(w.inputs[0])!.dtype, DType.INT8);
    assert.equal(w.inputs.length, 2, 'no zero point left');
    // Activations lose one bit (u8 -> s8 over the same range): within a few output steps.
    await assertClose(before, after, 0.03, 0.999);
  });

  it('turns QLinearMatMul into Q/DQ around a float MatMul, symmetric', async () => {
    const before = qoperatorGraph();
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.qLinearMatMuls, 1);
    assertClean(after, 'tensorrt');
    assert.ok(!opsOf(after).has('QLinearMatMul'));
    await assertClose(before, after, 0.05, 0.998);
  });

  it('keeps DynamicQuantizeMatMul weights in int8 and activations float (no run-time scales on TensorRT)', async () => {
    const before = dynamicMatMulGraph(64);
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.activationQuantDropped, 1);
    assertClean(after, 'tensorrt');
    assert.ok(!hasMicrosoftOps(after));
    await assertClose(before, after, 0.02, 0.999);
  });

  it('turns GroupQueryAttention with rotary into Attention-23 with primitive rotary, within 1e-5', async () => {
    const before = gqaGraph();
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.groupQueryAttentions, 1);
    assert.equal(after.opsetVersion(''), 23);
    assert.ok(opsOf(after).has('Attention') && !opsOf(after).has('RotaryEmbedding'));
    assertClean(after, 'tensorrt');
    await assertWithin(before, after, 1e-5, randomFeeds(before, GQA_FEEDS));
  });

  it('unpacks a packed-QKV GroupQueryAttention by heads, within 1e-5', async () => {
    const before = gqaGraph(undefined, true, true);
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.groupQueryAttentions, 1);
    assertClean(after, 'tensorrt');
    await assertWithin(before, after, 1e-5, randomFeeds(before, GQA_FEEDS));
  });

  it('turns the packed-projection com.microsoft Attention (mask, causal) into MatMul + Split + Attention-23, within 1e-5', async () => {
    const before = packedAttentionGraph(true);
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.packedAttentions, 1);
    assertClean(after, 'tensorrt');
    const feeds = { ...randomFeeds(before, { dims: { batch: 2, seq: 4 } }), attention_mask: tensor(DType.INT32, [2, 4], Int32Array.of(1, 1, 1, 1, 1, 1, 0, 0)) };
    await assertWithin(before, after, 1e-5, feeds);
  });

  for (const causal of [false, true]) {
    it(`turns MultiHeadAttention (bias, padding mask${causal ? ', causal' : ''}) into Attention-23, within 1e-5`, async () => {
      const before = mhaGraph(causal);
      const { after } = await legalize('tensorrt', before);
      assertClean(after, 'tensorrt');
      const feeds = { ...randomFeeds(before, { dims: { batch: 2, seq: 4 } }), attention_mask: tensor(DType.INT32, [2, 4], Int32Array.of(1, 1, 1, 1, 1, 1, 0, 0)) };
      await assertWithin(before, after, 1e-5, feeds);
    });
  }

  it('decomposes onnxruntime norms and GELUs into standard ops, within 1e-5', async () => {
    const before = normGeluGraph();
    const { after, result } = await legalize('tensorrt', before);
    assert.deepEqual([result.stats.skipLayerNorms, result.stats.skipRmsNorms, result.stats.rmsNorms, result.stats.gelus], [1, 1, 1, 4]);
    assert.ok(!hasMicrosoftOps(after));
    assertClean(after, 'tensorrt');
    await assertWithin(before, after, 1e-5);
  });

  it('decomposes opset-23 RMSNormalization and RotaryEmbedding (not known to TensorRT) into primitives, within 1e-5', async () => {
    const { after: portable } = await legalize('openvino', rotaryGraph(false, false), { attention: 'opset23' });
    assert.ok(opsOf(portable).has('RotaryEmbedding'));
    const { after, result } = await legalize('tensorrt', portable);
    assert.equal(result.stats.rotaries, 1);
    assert.ok(!opsOf(after).has('RotaryEmbedding'));
    assert.deepEqual(checkModel(after, 'tensorrt'), []);
    await assertWithin(portable, after, 1e-6);
    const rms = rmsGraph();
    const { after: flat } = await legalize('tensorrt', rms);
    assert.equal(checkModel(rms, 'tensorrt').length, 1);
    assert.deepEqual(checkModel(flat, 'tensorrt'), []);
    await assertWithin(rms, flat, 1e-5);
  });

  it('changes nothing on a second run, nor on a plain float model', async () => {
    const { after } = await legalize('tensorrt', normGeluGraph());
    assert.equal((await legalize('tensorrt', after)).result.modified, false);
    assert.equal((await legalize('tensorrt', mlpWithClutter())).result.modified, false);
  });
});
