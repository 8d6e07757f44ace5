import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pruneMagnitude from '../../../passes/prune/prune-magnitude.js';
import { applyPass, assertSameOutputs, cloneModel } from '../../helpers/model.js';
import { countNmViolations, pruneCount } from '../../../src/math/sparsity.js';
import { layersByLabel, threeLayers, zerosOf } from './helpers.js';
import type { Model } from '../../../src/ir/model.js';
import { buildBert } from '../../../fixtures/build/index.js';
import { runSteps } from '../../../src/pipeline/manager.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { quietContext } from '../../../src/pipeline/pass.js';

/** The original model with the pruned model's zeros copied in: what pruning alone must compute. */
function maskedLike(original: Model, pruned: Model): Model {
  const ref = cloneModel(original);
  const after = layersByLabel(pruned);
  for (const [label, layer] of layersByLabel(ref)) {
    const zeros = after.get(label)!.weight.initializer!.toFloat32();
    const w = Float32Array.from(layer.weight.initializer!.toFloat32(), (v, i) => (zeros[i] === 0 ? 0 : v));
    layer.weight.initializer!.setBytes(new Uint8Array(w.buffer));
  }
  return ref;
}

/** Largest pruned |w| and smallest kept |w| over the given layers of the original. */
function magnitudeSplit(original: Model, pruned: Model, labels: readonly string[]): { pruned: number; kept: number } {
  const before = layersByLabel(original);
  const after = layersByLabel(pruned);
  let maxPruned = 0;
  let minKept = Infinity;
  for (const label of labels) {
    const w = before.get(label)!.weight.initializer!.toFloat32();
    const z = after.get(label)!.weight.initializer!.toFloat32();
    w.forEach((v, i) => {
      if (z[i] === 0) maxPruned = Math.max(maxPruned, Math.abs(v));
      else minKept = Math.min(minKept, Math.abs(v));
    });
  }
  return { pruned: maxPruned, kept: minKept };
}

describe('prune-magnitude', () => {
  for (const sparsity of [0.3, 0.5, 0.9]) {
    it(`layer scope ${sparsity}: exactly that share of every layer, the smallest weights, nothing else changed`, async () => {
      const model = threeLayers();
      const { after, result } = await applyPass(pruneMagnitude, model, { sparsity, includeHead: true });
      assert.equal(result.stats.layersPruned, 3);
      for (const [label, layer] of layersByLabel(after)) {
        assert.equal(zerosOf(layer), pruneCount(layer.k * layer.n, sparsity), label);
        const split = magnitudeSplit(model, after, [label]);
        assert.ok(split.pruned <= split.kept, `${label}: pruned |w| ${split.pruned} > kept ${split.kept}`);
      }
      await assertSameOutputs(maskedLike(model, after), after, { atol: 1e-6, dims: { batch: 5 } });
    });
  }

  it('global scope: one threshold over all layers, exact total', async () => {
    const model = threeLayers();
    const { after, result } = await applyPass(pruneMagnitude, model, { sparsity: 0.6, scope: 'global', includeHead: true });
    const layers = [...layersByLabel(after).values()];
    const total = layers.reduce((n, l) => n + l.k * l.n, 0);
    assert.equal(layers.reduce((n, l) => n + zerosOf(l), 0), pruneCount(total, 0.6));
    assert.equal(result.stats.paramsPruned, pruneCount(total, 0.6));
    const split = magnitudeSplit(model, after, layers.map((l) => l.label));
    assert.ok(split.pruned <= split.kept);
  });

  it('2:4 along K in every layout: at most 2 non-zeros in every 4 consecutive inputs of an output', async () => {
    const model = threeLayers();
    const { after } = await applyPass(pruneMagnitude, model, { pattern: '2:4', includeHead: true });
    for (const [label, l] of layersByLabel(after)) {
      const w = l.weight.initializer!.toFloat32();
      assert.equal(countNmViolations(w, l.k, l.n, l.transposed, { n: 2, m: 4 }), 0, label);
      assert.equal(zerosOf(l), l.k * l.n / 2, label);
    }
    await assertSameOutputs(maskedLike(model, after), after, { atol: 1e-6, dims: { batch: 5 } });
  });

  it('leaves the head, excluded layers and a second run alone', async () => {
    const model = threeLayers();
    const { after, result } = await applyPass(pruneMagnitude, model, { sparsity: 0.5 });
    const layers = layersByLabel(after);
    assert.equal(result.stats.headLayersKept, 1);
    assert.equal(zerosOf(layers.get('last')!), 0, 'the output head stays dense by default');
    const excluded = await applyPass(pruneMagnitude, model, { sparsity: 0.5, exclude: ['Gemm', '/^fir/'] });
    assert.equal(excluded.result.stats.layersPruned, 0);
    assert.equal(excluded.result.modified, false);
    const again = await applyPass(pruneMagnitude, after, { sparsity: 0.5 });
    assert.equal(again.result.modified, false);
  });

  it('a schedule without calibration data ends where one step does', async () => {
    const model = threeLayers();
    const one = await applyPass(pruneMagnitude, model, { sparsity: 0.7, includeHead: true });
    const four = await applyPass(pruneMagnitude, model, { sparsity: 0.7, schedule: 4, includeHead: true });
    await assertSameOutputs(one.after, four.after, { atol: 0, dims: { batch: 3 } });
  });

  it('refuses bad options', () => {
    const parse = (o: object) => pruneMagnitude.options.safeParse(o).success;
    assert.equal(parse({ sparsity: 1 }), false);
    assert.equal(parse({ sparsity: -0.1 }), false);
    assert.equal(parse({ pattern: '5:4' }), false);
    assert.equal(parse({ pattern: '2of4' }), false);
    assert.equal(parse({ pattern: '2:4', scope: 'global' }), false);
    assert.equal(parse({ sparsity: 0 }), true);
  });

  it('on a fused BERT: warns that the packed Q/K/V weight inside com.microsoft Attention stays dense', async () => {
    const fused = buildBert();
    await runSteps(fused, resolveSteps(['preset:fuse']), quietContext());
    const attention = fused.graph.nodes.filter((n) => n.domain === 'com.microsoft' && n.opType === 'Attention');
    assert.ok(attention.length > 0);
    const warnings: string[] = [];
    const pruned = cloneModel(fused);
    const result = await pruneMagnitude.run(pruned, pruneMagnitude.options.parse({ sparsity: 0.5 }), quietContext({ warn: (m) => warnings.push(m) }));
    assert.equal(result.modified, true);
    assert.match(warnings.join('\n'), new RegExp(`${attention.length} com.microsoft Attention nodes keep their packed Q/K/V weight unchanged; prune before`));
    const packed = pruned.graph.nodes.filter((n) => n.domain === 'com.microsoft' && n.opType === 'Attention').map((n) => n.inputs[1]!.initializer!.toFloat32());
    assert.deepEqual(packed, attention.map((n) => n.inputs[1]!.initializer!.toFloat32()), 'the packed weights are untouched');
  });
});
