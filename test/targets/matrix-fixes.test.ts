/**
 * One focused test per problem the target matrix revealed: IR versions that lag the opset, Split without
 * num_outputs at opset 18, GatherElements on OpenVINO, the CPU fusion warning on already-quantized
 * activations, and pipelines that must legalize for the target they were given.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import upgradeOpsetPass from '../../passes/legalize/upgrade-opset.js';
import legalizeForTarget from '../../passes/legalize/legalize-for-target.js';
import { DType } from '../../src/ir/dtype.js';
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import { verifyModel } from '../../src/ir/verify.js';
import { quietContext, type Target } from '../../src/pipeline/pass.js';
import { checkModel } from '../../src/targets/check.js';
import { randomFeeds } from '../../src/runtime/feeds.js';
import { applyPass, assertSameOutputs } from '../helpers/model.js';
import { newModel } from '../helpers/tiny.js';
import { constant, int, ints, normGeluGraph } from './graphs.js';
import { assertClean, assertWithin, hasMicrosoftOps, legalize, opsOf } from './harness.js';
import { runModel } from '../../src/runtime/session.js';
import { compareOutputs } from '../../src/runtime/compare.js';

/** x [2, 6] -> Split(axis 1) into 2 or 3 equal parts, no sizes -> outputs. */
function splitModel(opset: number, parts: number): Model {
  const m = newModel(opset);
  const g = m.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 6] });
  const outs = Array.from({ length: parts }, (_, i) => `y${i}`);
  const split = g.addNode({ opType: 'Split', inputs: [x], outputs: outs, attributes: { axis: int(1) } });
  g.outputs.push(...split.outputs.map((v) => v!));
  return m;
}

describe('upgrade-opset: IR version and Split', () => {
  for (const [opset, ir] of [[19, 9], [21, 10], [23, 11]] as const) {
    it(`raises IR 8 to ${ir} with opset ${opset}, and the model still runs the same`, async () => {
      const before = splitModel(17, 2);
      const { after, result } = await applyPass(upgradeOpsetPass, before, { version: opset });
      assert.equal(after.irVersion, ir);
      assert.equal(result.stats.irVersion, ir);
      assert.deepEqual(checkModel(after, 'cpu'), []);
      await assertSameOutputs(before, after, { atol: 0 });
    });
  }

  it('keeps a newer IR version', async () => {
    const before = splitModel(17, 2);
    before.irVersion = 12;
    const { after } = await applyPass(upgradeOpsetPass, before, { version: 21 });
    assert.equal(after.irVersion, 12);
  });

  it('raises a lagging IR version when the opset is already there', async () => {
    const before = splitModel(21, 2);
    const { after, result } = await applyPass(upgradeOpsetPass, before, { version: 21 });
    assert.equal(result.modified, true);
    assert.equal(after.irVersion, 10);
    assert.equal((await applyPass(upgradeOpsetPass, after, { version: 21 })).result.modified, false);
  });

  for (const parts of [2, 3]) {
    it(`names num_outputs (${parts}) on a Split without sizes when crossing opset 18; the result runs the same`, async () => {
      const before = splitModel(13, parts);
      const { after, result } = await applyPass(upgradeOpsetPass, before, { version: 18 });
      const split = after.graph.nodesOfType('Split')[0]!;
      assert.equal(split.getInt('num_outputs'), parts);
      assert.equal(result.stats.nodesRewritten, 1);
      await assertSameOutputs(before, after, { atol: 0 });
    });
  }

  it('leaves a Split with sizes alone (sizes and num_outputs are exclusive)', async () => {
    const before = newModel(13);
    const g = before.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 6] });
    const sizes = constant(before, 'sizes', DType.INT64, [2], [2, 4]);
    const split = g.addNode({ opType: 'Split', inputs: [x, sizes], outputs: ['a', 'b'], attributes: { axis: int(1) } });
    g.outputs.push(split.output(0), split.output(1));
    const { after } = await applyPass(upgradeOpsetPass, before, { version: 18 });
    assert.equal(after.graph.nodesOfType('Split')[0]!.getInt('num_outputs'), undefined);
    await assertSameOutputs(before, after, { atol: 0 });
  });
});

describe('check: IR version against the opset', () => {
  for (const target of ['cpu', 'tensorrt', 'openvino'] as const) {
    it(`reports IR 8 with opset 21 on ${target} as an error that legalize-${target} fixes`, async () => {
      const model = splitModel(21, 2);
      const low = checkModel(model, target).filter((f) => f.rule === 'ir-low');
      assert.equal(low.length, 1);
      assert.equal(low[0]!.severity, 'error');
      assert.equal(low[0]!.fix, `legalize-${target}`);
      const { after } = await legalize(target, model);
      assert.equal(after.irVersion, 10);
      assert.deepEqual(checkModel(after, target), []);
    });
  }
});

/** data [B, 4, 5], idx [B, 3, 5] (int32, negative ones too) -> GatherElements(axis) -> y. */
function gatherElementsModel(axis: number): Model {
  const m = newModel(17);
  const g = m.graph;
  const data = g.addInput('data', { elemType: DType.FLOAT, shape: ['batch', 4, 5] });
  const n = 2 * 3 * 5;
  const idx = constant(m, 'idx', DType.INT32, [2, 3, 5], ints(n, axis === 2 ? -5 : -4, axis === 2 ? 4 : 3, 9));
  const y = g.addNode({ opType: 'GatherElements', inputs: [data, idx], outputs: ['y'], attributes: { axis: int(axis) } }).output(0);
  g.outputs.push(y);
  return m;
}

describe('legalize: GatherElements', () => {
  for (const axis of [1, 2, -1]) {
    it(`becomes GatherND with written-out coordinates on openvino (axis ${axis}), exactly`, async () => {
      const before = gatherElementsModel(axis);
      assert.ok(checkModel(before, 'openvino').some((f) => f.rule === 'op-restricted' && f.fix === 'legalize-openvino'));
      const { after, result } = await legalize('openvino', before);
      assert.equal(result.stats.gatherElements, 1);
      assert.ok(!opsOf(after).has('GatherElements') && opsOf(after).has('GatherND'));
      assertClean(after, 'openvino');
      await assertWithin(before, after, 0, randomFeeds(before, { dims: { batch: 2 }, seed: 3 }));
      assert.equal((await legalize('openvino', after)).result.stats.gatherElements, undefined);
    });
  }

  it('stays on targets that take it', async () => {
    const { after } = await legalize('cpu', gatherElementsModel(1));
    assert.ok(opsOf(after).has('GatherElements'));
  });
});

/** x -> [Q -> DQ] -> MatMul(DQ(int8 W per channel)) -> y. */
function int8MatMul(quantizedActivations: boolean): Model {
  const m = newModel(17);
  const g = m.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 16] });
  let a = x;
  if (quantizedActivations) {
    const s = constant(m, 'x_scale', DType.FLOAT, [], [0.02]);
    const z = constant(m, 'x_zero', DType.UINT8, [], [128]);
    const q = g.addNode({ opType: 'QuantizeLinear', inputs: [x, s, z] }).output(0);
    a = g.addNode({ opType: 'DequantizeLinear', inputs: [q, s, z] }).output(0);
  }
  const w = constant(m, 'w', DType.INT8, [16, 8], ints(128, -127, 127, 5));
  const ws = constant(m, 'w_scale', DType.FLOAT, [8], Array.from({ length: 8 }, (_, i) => 0.01 + i * 1e-3));
  const wd = g.addNode({ opType: 'DequantizeLinear', inputs: [w, ws], attributes: { axis: int(1) } }).output(0);
  g.outputs.push(g.addNode({ opType: 'MatMul', inputs: [a, wd], outputs: ['y'] }).output(0));
  return m;
}

describe('check: the CPU DequantizeLinear -> MatMul fusion', () => {
  it('warns where the activations are float (the fused kernel would quantize them)', () => {
    assert.deepEqual(checkModel(int8MatMul(false), 'cpu').map((f) => f.rule), ['qdq-matmul-fusion']);
  });

  it('says nothing where the graph quantizes the activations itself, and the fused kernel computes the same', async () => {
    const model = int8MatMul(true);
    assert.deepEqual(checkModel(model, 'cpu'), []);
    const feeds = randomFeeds(model, { dims: { batch: 4 }, seed: 2 });
    // Default session (fusions on, no session entry) against the graph's own arithmetic.
    const [d] = compareOutputs(await runModel(model, feeds, { optimization: 'disabled' }), await runModel(model, feeds, { optimization: 'all' }));
    const y = (await runModel(model, feeds, { optimization: 'disabled' })).y!.data as Float32Array;
    const scale = Math.max(...Array.from(y, Math.abs));
    assert.ok(d!.maxAbs <= 1e-5 * scale, `fused kernel differs by ${d!.maxAbs} (outputs up to ${scale})`);
  });
});

async function runForTarget(model: Model, target: Target): Promise<{ after: Model; modified: boolean; stats: Readonly<Record<string, number>> }> {
  const after = cloneModel(model);
  const result = await legalizeForTarget.run(after, legalizeForTarget.options.parse({}), quietContext({ target }));
  verifyModel(after, legalizeForTarget.name);
  return { after, modified: result.modified, stats: result.stats };
}

describe('legalize-for-target', () => {
  it('legalizes for the context\'s target: no com.microsoft op left on tensorrt and openvino, same outputs', async () => {
    const before = normGeluGraph();
    for (const target of ['tensorrt', 'openvino'] as const) {
      const { after, modified } = await runForTarget(before, target);
      assert.ok(modified && !hasMicrosoftOps(after), target);
      assertClean(after, target);
      await assertWithin(before, after, 1e-5);
    }
  });

  it('changes nothing where the target has no finding it fixes (a warning without a fix included)', async () => {
    for (const model of [splitModel(17, 2), int8MatMul(false)]) {
      const { modified, stats } = await runForTarget(model, 'cpu');
      assert.equal(modified, false);
      assert.equal(stats.findingsFixable, 0);
    }
  });

  it('changes nothing on a second run', async () => {
    const { after } = await runForTarget(normGeluGraph(), 'openvino');
    assert.equal((await runForTarget(after, 'openvino')).modified, false);
  });
});
