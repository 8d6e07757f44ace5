/**
 * The fuse preset on already-quantized models: attention still fuses (projections stay quantized, outside
 * the attention op) and the outputs are the quantized model's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Model } from '../../../src/ir/model.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { runSteps } from '../../../src/pipeline/manager.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { detectTransformer } from '../../../src/analysis/transformer.js';
import quantizeDynamic from '../../../passes/quantize/quantize-dynamic.js';
import quantizeWeightOnly from '../../../passes/quantize/quantize-weight-only.js';
import { buildBert, buildGpt2, buildLlama } from '../../../fixtures/build/index.js';
import { assertSameOutputs, opTypes } from '../../helpers/model.js';

async function quantized(model: Model, mode: 'dynamic' | 'weight-only'): Promise<Model> {
  const copy = cloneModel(model);
  // accuracy_level 0: float activations in MatMulNBits, so that fusing changes no rounding of int8 activations.
  if (mode === 'dynamic') await quantizeDynamic.run(copy, quantizeDynamic.options.parse({}), quietContext());
  else await quantizeWeightOnly.run(copy, quantizeWeightOnly.options.parse({ accuracyLevel: 0 }), quietContext());
  return copy;
}

const QUANTIZED_LINEAR = /MatMulIntegerToFloat|MatMulNBits/;

describe('fuse preset on quantized models', () => {
  for (const [name, build] of [['bert', buildBert], ['gpt2', buildGpt2], ['llama', buildLlama]] as const) {
    for (const mode of ['dynamic', 'weight-only'] as const) {
      it(`${name}, ${mode}: every attention block fused, projections still quantized, same outputs`, async () => {
        const before = await quantized(build(), mode);
        const after = cloneModel(before);
        await runSteps(after, resolveSteps(['preset:fuse']), quietContext());
        const blocks = detectTransformer(after).blocks;
        assert.ok(blocks.length > 0);
        assert.ok(blocks.every((b) => b.attention.length === 1 && b.attention[0]!.core.form === 'fused'), 'every block has one fused attention op');
        const count = (m: Model) => opTypes(m).filter((op) => QUANTIZED_LINEAR.test(op)).length;
        assert.equal(count(after), count(before), 'no quantized projection was dropped or dequantized');
        await assertSameOutputs(before, after, { atol: 1e-4, dims: { batch: 2, sequence: 9 } });
      });
    }
  }

  it('quantizing a fused BERT warns that the packed Q/K/V weight of Attention stays float', async () => {
    const fused = buildBert();
    await runSteps(fused, resolveSteps(['preset:fuse']), quietContext());
    const attention = opTypes(fused).filter((op) => op === 'com.microsoft.Attention').length;
    assert.ok(attention > 0);
    for (const pass of [quantizeDynamic, quantizeWeightOnly] as const) {
      const warnings: string[] = [];
      const result = await pass.run(cloneModel(fused), pass.options.parse({}) as never, quietContext({ warn: (m) => warnings.push(m) }));
      assert.match(warnings.join('\n'), new RegExp(`${attention} com.microsoft Attention nodes keep their packed Q/K/V weight unchanged; quantize before`));
      assert.ok(result.stats.layersSkipped! >= attention);
    }
  });
});
