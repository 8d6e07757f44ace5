import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fuseRmsNorm from '../../../passes/fusion/fuse-rms-norm.js';
import fuseLayerNorm from '../../../passes/fusion/fuse-layer-norm.js';
import fuseSkipNorm from '../../../passes/fusion/fuse-skip-norm.js';
import { applyPass, assertSameOutputs, opTypes } from '../../helpers/model.js';
import { layerNorm, residualNorm, rmsNorm } from './graphs.js';
import { upgradeOpset } from '../../../passes/legalize/upgrade-opset.js';

/** fp32 normalisation over 16 channels: the fused kernels agree to a few ulps. */
const check = { atol: 1e-5, dims: { batch: 2, seq: 5 } };

describe('fuse-rms-norm', () => {
  for (const form of ['div-one', 'reciprocal', 'divide', 'pow'] as const) {
    it(`fuses the ${form} spelling within 1e-5`, async () => {
      const before = rmsNorm({ form });
      const { after, result } = await applyPass(fuseRmsNorm, before);
      assert.equal(result.stats.fused, 1);
      assert.deepEqual(opTypes(after), ['SimplifiedLayerNormalization']);
      await assertSameOutputs(before, after, check);
      assert.equal((await applyPass(fuseRmsNorm, after)).result.modified, false);
    });
  }

  it('fuses a norm without weight (scale of ones)', async () => {
    const before = rmsNorm({ weight: 'none' });
    const { after } = await applyPass(fuseRmsNorm, before);
    assert.deepEqual(opTypes(after), ['SimplifiedLayerNormalization']);
    await assertSameOutputs(before, after, check);
  });

  it('keeps a weight read from an input as a Mul after the fused norm', async () => {
    const before = rmsNorm({ weight: 'input' });
    const { after } = await applyPass(fuseRmsNorm, before);
    assert.deepEqual(opTypes(after), ['SimplifiedLayerNormalization', 'Mul']);
    await assertSameOutputs(before, after, check);
  });

  it('emits RMSNormalization when asked (opset 23 model)', async () => {
    const before = rmsNorm();
    upgradeOpset(before, 23);
    const { after } = await applyPass(fuseRmsNorm, before, { op: 'auto' });
    assert.deepEqual(opTypes(after), ['RMSNormalization']);
    await assertSameOutputs(before, after, check);
  });

  const misses: [string, Parameters<typeof rmsNorm>[0]][] = [
    ['a mean over another axis', { axis: 1 }],
    ['an epsilon read from an input', { epsInput: true }],
    ['a mean square also read outside', { leak: true }],
  ];
  for (const [what, options] of misses) {
    it(`leaves ${what} alone`, async () => {
      const { after, result } = await applyPass(fuseRmsNorm, rmsNorm(options));
      assert.equal(result.modified, false);
      assert.ok(!opTypes(after).includes('SimplifiedLayerNormalization'));
    });
  }
});

describe('fuse-layer-norm', () => {
  it('fuses mean/variance/scale/shift within 1e-5', async () => {
    const before = layerNorm();
    const { after, result } = await applyPass(fuseLayerNorm, before);
    assert.equal(result.stats.fused, 1);
    assert.deepEqual(opTypes(after), ['LayerNormalization']);
    await assertSameOutputs(before, after, check);
    assert.equal((await applyPass(fuseLayerNorm, after)).result.modified, false);
  });

  it('leaves a norm over a middle axis alone', async () => {
    assert.equal((await applyPass(fuseLayerNorm, layerNorm({ axis: 1 }))).result.modified, false);
  });

  it('leaves it alone when the centred value is read outside', async () => {
    assert.equal((await applyPass(fuseLayerNorm, layerNorm({ leak: true }))).result.modified, false);
  });
});

describe('fuse-skip-norm', () => {
  it('fuses Add + LayerNormalization and folds the bias, within 1e-5', async () => {
    const before = residualNorm({ bias: true });
    const { after, result } = await applyPass(fuseSkipNorm, before, { when: 'always' });
    assert.deepEqual(result.stats, { skipLayerNorm: 1, skipSimplifiedLayerNorm: 0, withBias: 1, sumExposed: 0 });
    assert.deepEqual(opTypes(after), ['MatMul', 'com.microsoft.SkipLayerNormalization']);
    await assertSameOutputs(before, after, check);
    assert.equal((await applyPass(fuseSkipNorm, after, { when: 'always' })).result.modified, false);
  });

  it('is skipped for target cpu by default (slower kernels there)', async () => {
    assert.equal((await applyPass(fuseSkipNorm, residualNorm({ bias: true }))).result.modified, false);
  });

  it('exposes the residual sum when something else reads it', async () => {
    const before = residualNorm({ simplified: true, readSum: true });
    const { after, result } = await applyPass(fuseSkipNorm, before, { when: 'always' });
    assert.equal(result.stats.sumExposed, 1);
    const skip = after.graph.nodes.find((n) => n.opType === 'SkipSimplifiedLayerNormalization')!;
    assert.ok(skip.outputs[3] && skip.outputs[3].uses.length === 1);
    await assertSameOutputs(before, after, check);
  });

  it('leaves a normalisation over another axis alone', async () => {
    assert.equal((await applyPass(fuseSkipNorm, residualNorm({ axis: 1 }), { when: 'always' })).result.modified, false);
  });
});
