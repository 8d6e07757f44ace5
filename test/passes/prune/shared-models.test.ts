import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pruneMagnitude from '../../../passes/prune/prune-magnitude.js';
import pruneWanda from '../../../passes/prune/prune-wanda.js';
import pruneSparseGpt from '../../../passes/prune/prune-sparsegpt.js';
import { loadModel } from '../../../src/io/load.js';
import { readDataset } from '../../../src/data/dataset.js';
import { readNpy } from '../../../src/runtime/npy.js';
import { evaluatePerplexity } from '../../../src/eval/evaluate.js';
import { countNmViolations, pruneCount } from '../../../src/math/sparsity.js';
import type { Model } from '../../../src/ir/model.js';
import type { Pass } from '../../../src/pipeline/pass.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { layersByLabel, prunedWith, zerosOf } from './helpers.js';

/**
 * llama-tiny (fp32 perplexity 3.2953 on eval_ids.npy) at 50 % sparsity: each method must do at least as well
 * as the simpler one, and the best 2:4 result must stay within 4.0. Calibration: the first rows of
 * calib_ids.npy (16 for unstructured, 32 for 2:4).
 */
describe('pruning llama-tiny', { skip: skipWithoutShared }, () => {
  const perplexity = new Map<string, number>();
  let dense: Model | undefined;
  const model = () => (dense ??= loadModel(sharedFile('llama-tiny.onnx')));
  const calibration = (rows: number) => ({ ...readDataset(sharedFile('calib_ids.npy'), model()), rows });

  async function run(name: string, pass: Pass, options: Record<string, unknown>, rows: number): Promise<Model> {
    const { after } = await prunedWith(pass, model(), options, rows ? calibration(rows) : undefined);
    const q = await evaluatePerplexity(after, readNpy(sharedFile('eval_ids.npy')));
    perplexity.set(name, q.perplexity);
    return after;
  }

  /** Every block layer (28: q, k, v, o, gate, up, down × 4) pruned; the head dense. */
  function assertBlockLayers(after: Model, check: (k: number, n: number, w: Float32Array, transposed: boolean) => void): void {
    const layers = [...layersByLabel(after).values()];
    const pruned = layers.filter((l) => zerosOf(l) > 0);
    assert.equal(pruned.length, 28);
    for (const l of pruned) check(l.k, l.n, l.weight.initializer!.toFloat32(), l.transposed);
  }

  it('50 % magnitude: exactly half of every block layer', async () => {
    const after = await run('magnitude', pruneMagnitude as Pass, { sparsity: 0.5 }, 0);
    assertBlockLayers(after, (k, n, w) => assert.equal(w.filter((v) => v === 0).length, pruneCount(k * n, 0.5)));
    assert.ok(perplexity.get('magnitude')! > 3.2953);
  });

  it('50 % wanda (no refit): perplexity ≤ magnitude', async () => {
    await run('wanda', pruneWanda as Pass, { sparsity: 0.5, reconstruct: false }, 16);
    assert.ok(perplexity.get('wanda')! <= perplexity.get('magnitude')!, `wanda ${perplexity.get('wanda')} vs magnitude ${perplexity.get('magnitude')}`);
  });

  it('50 % sparsegpt with reconstruction: perplexity ≤ wanda', async () => {
    await run('sparsegpt', pruneSparseGpt as Pass, { sparsity: 0.5 }, 16);
    assert.ok(perplexity.get('sparsegpt')! <= perplexity.get('wanda')!, `sparsegpt ${perplexity.get('sparsegpt')} vs wanda ${perplexity.get('wanda')}`);
  });

  it('2:4 sparsegpt: every group of 4 keeps at most 2, perplexity ≤ 4.0', async () => {
    const after = await run('sparsegpt 2:4', pruneSparseGpt as Pass, { pattern: '2:4', schedule: 2 }, 32);
    assertBlockLayers(after, (k, n, w, t) => assert.equal(countNmViolations(w, k, n, t, { n: 2, m: 4 }), 0));
    assert.ok(perplexity.get('sparsegpt 2:4')! <= 4.0, `perplexity ${perplexity.get('sparsegpt 2:4')}`);
  });
});
