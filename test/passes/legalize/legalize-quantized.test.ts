import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import quantizeDynamic from '../../../passes/quantize/quantize-dynamic.js';
import quantizeWeightOnly from '../../../passes/quantize/quantize-weight-only.js';
import { quietContext, type Target } from '../../../src/pipeline/pass.js';
import type { Model } from '../../../src/ir/model.js';
import { checkModel } from '../../../src/targets/check.js';
import { cloneModel } from '../../helpers/model.js';
import { mlpWithClutter, newModel, randomWeight } from '../../helpers/tiny.js';
import { DType } from '../../../src/ir/dtype.js';
import { assertClean, assertClose, assertWithin, hasMicrosoftOps, legalize, opsOf } from '../../targets/harness.js';

async function quantized(pass: typeof quantizeDynamic | typeof quantizeWeightOnly, options: Record<string, unknown>, target: Target): Promise<Model> {
  const m = cloneModel(mlpWithClutter());
  await pass.run(m, pass.options.parse(options) as never, quietContext({ target }));
  return m;
}

describe('legalize on quantize-dynamic and quantize-weight-only output', () => {
  const forms: [string, Record<string, unknown>][] = [
    ['per-row MatMulIntegerToFloat', {}],
    ['per-tensor DynamicQuantizeMatMul', { activations: 'tensor', perChannel: true }],
  ];
  for (const [label, options] of forms) {
    it(`${label} (cpu form) -> Q/DQ for openvino (exact up to float32 rounding), weight-only for cuda and tensorrt`, async () => {
      const before = await quantized(quantizeDynamic, options, 'cpu');
      assert.ok(hasMicrosoftOps(before));
      const { after: ov } = await legalize('openvino', before);
      assert.ok(!hasMicrosoftOps(ov));
      assert.deepEqual(checkModel(ov, 'openvino'), []);
      await assertClose(before, ov, 1e-5, 0.99999);
      for (const target of ['cuda', 'tensorrt'] as const) {
        const { after } = await legalize(target, before);
        assertClean(after, target);
        // Activations stay float where run-time quantization is not taken: the quantization noise goes.
        await assertClose(before, after, 0.05, 0.999);
      }
    });
  }

  it('per-row activations on cuda: one dequantized copy per quantized input, shared by its projections', async () => {
    const before = cloneModel(siblingProjections());
    await quantizeDynamic.run(before, quantizeDynamic.options.parse({}), quietContext({ target: 'cuda' }));
    const { after } = await legalize('cuda', before);
    assertClean(after, 'cuda');
    const g = after.graph;
    const matmuls = g.nodes.filter((n) => n.opType === 'MatMul');
    assert.equal(matmuls.length, 3);
    assert.equal(new Set(matmuls.map((n) => n.inputs[0])).size, 1, 'the three projections read one dequantized activation');
    assert.ok(!g.nodes.some((n) => n.opType === 'Cast' && n.inputs[0]?.isConstant), 'no Cast of a constant');
    assert.ok(g.initializers.every((v) => !v.isUnused), 'no unused initializer');
    await assertClose(before, after, 1e-5, 0.99999);
  });

  it('the Q/DQ dynamic form keeps DynamicQuantizeLinear on openvino, drops it on tensorrt', async () => {
    const before = await quantized(quantizeDynamic, {}, 'tensorrt');
    assert.ok(opsOf(before).has('DynamicQuantizeLinear'));
    assert.deepEqual(checkModel(before, 'openvino'), []);
    const { after, result } = await legalize('tensorrt', before);
    assert.ok(result.stats.activationQuantDropped! > 0);
    assertClean(after, 'tensorrt');
    assert.ok(!opsOf(after).has('DynamicQuantizeLinear'));
    await assertClose(before, after, 0.05, 0.999);
  });

  it('asymmetric int4 weight-only for openvino -> symmetric int4 for tensorrt (requantized, error reported)', async () => {
    const before = await quantized(quantizeWeightOnly, { symmetric: false, blockSize: 16 }, 'openvino');
    assert.deepEqual(checkModel(before, 'openvino'), []);
    const { after, result } = await legalize('tensorrt', before);
    assert.equal(result.stats.weightsRequantized, 2);
    assert.ok(result.stats.requantizeErrorMax! < 0.1, `weight error ${result.stats.requantizeErrorMax}`);
    assertClean(after, 'tensorrt');
    await assertClose(before, after, 0.15, 0.99);
  });

  it('weight-only MatMulNBits for cuda is left alone there', async () => {
    const before = await quantized(quantizeWeightOnly, {}, 'cuda');
    const { result } = await legalize('cuda', before);
    assert.equal(result.modified, false);
    await assertWithin(before, before, 0);
  });
});

/** x[batch, 16] read by three projections (as Q, K and V are), their sum the output. */
function siblingProjections(): Model {
  const model = newModel();
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 16] });
  const [q, k, v] = [1, 2, 3].map((seed) => g.addNode({ opType: 'MatMul', inputs: [x, randomWeight(model, `w${seed}`, [16, 8], seed)] }).output(0));
  const y = g.addNode({ opType: 'Add', inputs: [g.addNode({ opType: 'Add', inputs: [q!, k!] }).output(0), v!], outputs: ['y'] }).output(0);
  y.type = { elemType: DType.FLOAT, shape: ['batch', 8] };
  g.outputs.push(y);
  return model;
}

