import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fuseGelu from '../../../passes/fusion/fuse-gelu.js';
import { applyPass, assertSameOutputs, opTypes } from '../../helpers/model.js';
import { gelu } from './graphs.js';

/** Erf and tanh evaluated by different kernels: fp32 agreement to 1e-5 on standard-normal inputs. */
const check = { atol: 1e-5, dims: { batch: 2, seq: 7 } };

describe('fuse-gelu', () => {
  const cases: [string, Parameters<typeof gelu>[0], string[]][] = [
    ['erf with a bias Add -> BiasGelu', { kind: 'erf', bias: true }, ['com.microsoft.BiasGelu']],
    ['erf at opset 17 -> com.microsoft Gelu', { kind: 'erf' }, ['com.microsoft.Gelu']],
    ['erf at opset 20 -> Gelu', { kind: 'erf', opset: 20 }, ['Gelu']],
    ['tanh -> FastGelu', { kind: 'tanh' }, ['com.microsoft.FastGelu']],
    ['tanh with a bias Add -> FastGelu with bias', { kind: 'tanh', bias: true }, ['com.microsoft.FastGelu']],
  ];
  for (const [what, options, ops] of cases) {
    it(`fuses ${what}`, async () => {
      const before = gelu(options);
      const { after, result } = await applyPass(fuseGelu, before);
      assert.equal(result.modified, true);
      assert.deepEqual(opTypes(after), ops);
      await assertSameOutputs(before, after, check);
      assert.equal((await applyPass(fuseGelu, after)).result.modified, false);
    });
  }

  it('emits opset-20 Gelu(approximate=tanh) for target onnx', async () => {
    const before = gelu({ kind: 'tanh' });
    const { after } = await applyPass(fuseGelu, before, { target: 'onnx' });
    assert.deepEqual(opTypes(after), ['Gelu']);
    assert.equal(after.opsetVersion(''), 20);
    await assertSameOutputs(before, after, check);
  });

  it('leaves a product with 0.6 instead of 0.5 alone', async () => {
    assert.equal((await applyPass(fuseGelu, gelu({ kind: 'erf', half: 0.6 }))).result.modified, false);
  });
});
