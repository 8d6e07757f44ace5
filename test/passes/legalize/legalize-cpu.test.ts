import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../../src/ir/dtype.js';
import { checkModel } from '../../../src/targets/check.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import { runModel } from '../../../src/runtime/session.js';
import { compareOutputs } from '../../../src/runtime/compare.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import quantizeWeightOnly from '../../../passes/quantize/quantize-weight-only.js';
import { applyPass } from '../../helpers/model.js';
import { mlpWithClutter } from '../../helpers/tiny.js';
import { dynamicMatMulGraph, gqaGraph, matMulIntegerGraph, normGeluGraph } from '../../targets/graphs.js';
import { assertWithin, legalize, opsOf, SEMANTIC, tensor } from '../../targets/harness.js';

describe('legalize-cpu', () => {
  it('stores full-range s8 weights as u8 + 128: the exact u8 x u8 kernel gives the exact integer products', async () => {
    const before = matMulIntegerGraph();
    const { after, result } = await legalize('cpu', before);
    assert.equal(result.stats.weightsToU8, 1);
    assert.deepEqual(checkModel(after, 'cpu'), []);
    assert.equal(constantTensor(after.graph.nodes[0]!.inputs[1])!.dtype, DType.UINT8);
    // Reference: the float Q/DQ form (integer sums are exact in float32 here), judged by onnxruntime.
    const { after: reference } = await legalize('openvino', before);
    const feeds = { a: tensor(DType.UINT8, [4, 32], Uint8Array.from({ length: 128 }, (_, i) => (i * 193 + 7) % 256)) };
    await assertWithin(reference, after, 0, feeds);
  });

  it('does the same for DynamicQuantizeMatMul, exactly', async () => {
    const before = dynamicMatMulGraph(127);
    const { after, result } = await legalize('cpu', before);
    assert.equal(result.stats.weightsToU8, 1);
    assert.deepEqual(checkModel(after, 'cpu'), []);
    const { after: reference } = await legalize('openvino', before);
    await assertWithin(reference, after, 1e-5);
  });

  it('turns int4 DequantizeLinear(block_size) -> MatMul/Gemm into MatMulNBits (accuracy_level 0), bit for bit', async () => {
    const { after: before } = await applyPass(quantizeWeightOnly, mlpWithClutter(), { format: 'qdq', blockSize: 16 });
    assert.equal(checkModel(before, 'cpu').filter((f) => f.rule === 'qdq-matmul-fusion').length, 2);
    const { after, result } = await legalize('cpu', before);
    assert.equal(result.stats.dqToMatMulNBits, 2);
    assert.deepEqual(checkModel(after, 'cpu'), []);
    assert.ok(opsOf(after).has('com.microsoft.MatMulNBits'));
    await assertWithin(before, after, 0);
    // At the default optimization level the Q/DQ form is fused with int8 activations; MatMulNBits is not.
    const feeds = randomFeeds(before, { defaultDim: 3 });
    const fused = compareOutputs(await runModel(before, feeds, SEMANTIC), await runModel(before, feeds))[0]!;
    const nbits = compareOutputs(await runModel(before, feeds, SEMANTIC), await runModel(after, feeds))[0]!;
    assert.ok(nbits.maxAbs <= 1e-6 && nbits.maxAbs <= fused.maxAbs, `MatMulNBits ${nbits.maxAbs}, fused Q/DQ ${fused.maxAbs}`);
  });

  it('leaves what the CPU provider runs alone', async () => {
    for (const m of [normGeluGraph(), gqaGraph(), mlpWithClutter()]) assert.equal((await legalize('cpu', m)).result.modified, false);
  });
});
