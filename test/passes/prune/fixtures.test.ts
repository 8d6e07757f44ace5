import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pruneMagnitude from '../../../passes/prune/prune-magnitude.js';
import pruneWanda from '../../../passes/prune/prune-wanda.js';
import pruneSparseGpt from '../../../passes/prune/prune-sparsegpt.js';
import { buildBert, buildGpt2, buildLlama, STYLES } from '../../../fixtures/build/index.js';
import { countNmViolations, pruneCount } from '../../../src/math/sparsity.js';
import type { Model } from '../../../src/ir/model.js';
import { layersByLabel, prunedWith, relativeOutputError, tokenData, zerosOf } from './helpers.js';

const data = tokenData(8, 16, 256, 5);

/** Block layers changed by the pass: those with zeros now. */
function pruned(after: Model): { label: string; zeros: number; size: number }[] {
  return [...layersByLabel(after).values()].filter((l) => zerosOf(l) > 0).map((l) => ({ label: l.label, zeros: zerosOf(l), size: l.k * l.n }));
}

describe('pruning the fixture models', () => {
  for (const style of STYLES) {
    it(`llama (${style}): sparsegpt prunes every block layer to exactly 50 %, sequentially, closer than magnitude`, async () => {
      const model = buildLlama({ style });
      const sgpt = await prunedWith(pruneSparseGpt, model, { sparsity: 0.5 }, data);
      const layers = pruned(sgpt.after);
      assert.equal(layers.length, 14, 'q, k, v, o, gate, up, down in 2 blocks; the head stays dense');
      for (const l of layers) assert.equal(l.zeros, pruneCount(l.size, 0.5), l.label);
      assert.ok(sgpt.result.stats.calibrationRuns! >= 8, `stages: ${sgpt.result.stats.calibrationRuns}`);
      const mag = await prunedWith(pruneMagnitude, model, { sparsity: 0.5 });
      const e = await relativeOutputError(model, sgpt.after, data);
      const m = await relativeOutputError(model, mag.after, data);
      assert.ok(e < m, `sparsegpt ${e} vs magnitude ${m}`);
    });
  }

  it('gpt2 (Gemm layers) and bert (MatMul + Add): 2:4 with wanda, biases refit', async () => {
    for (const model of [buildGpt2(), buildBert()]) {
      const { after } = await prunedWith(pruneWanda, model, { pattern: '2:4' }, data);
      const layers = [...layersByLabel(after).values()].filter((l) => zerosOf(l) > 0);
      assert.ok(layers.length >= 8, `${layers.length} layers pruned`);
      for (const l of layers) {
        assert.equal(countNmViolations(l.weight.initializer!.toFloat32(), l.k, l.n, l.transposed, { n: 2, m: 4 }), 0, l.label);
        assert.ok(l.biasTerm, `${l.label} has a bias`);
        const before = model.graph.lookup(l.biasTerm.value.name)!.initializer!.toFloat32();
        assert.notDeepEqual(l.biasTerm.value.initializer!.toFloat32(), before, `${l.label}: bias refit`);
      }
      assert.ok(Number.isFinite(await relativeOutputError(model, after, data)));
    }
  });
});
