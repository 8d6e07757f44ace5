import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import upgradeOpsetPass from '../../../passes/legalize/upgrade-opset.js';
import { applyPass, assertSameOutputs } from '../../helpers/model.js';
import { newModel } from '../../helpers/tiny.js';
import { DType } from '../../../src/ir/dtype.js';

/** Opset-11 graph using every attribute that later became an input. */
function legacyModel() {
  const model = newModel(11);
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 6] });
  const u = g.addNode({ opType: 'Unsqueeze', inputs: [x], attributes: { axes: { type: 'ints', value: [0] } } }).output(0);
  const [a, b] = g.addNode({ opType: 'Split', inputs: [u], outputs: ['a', 'b'], attributes: { axis: { type: 'int', value: 2 }, split: { type: 'ints', value: [2, 4] } } }).outputs;
  const s = g.addNode({ opType: 'ReduceSum', inputs: [a!], attributes: { axes: { type: 'ints', value: [2] }, keepdims: { type: 'int', value: 1 } } }).output(0);
  const m = g.addNode({ opType: 'ReduceMean', inputs: [b!], attributes: { axes: { type: 'ints', value: [-1] } } }).output(0);
  const y = g.addNode({ opType: 'Add', inputs: [s, m] }).output(0);
  const z = g.addNode({ opType: 'Squeeze', inputs: [y], outputs: ['z'], attributes: { axes: { type: 'ints', value: [0] } } }).output(0);
  g.outputs.push(z);
  return model;
}

describe('upgrade-opset', () => {
  it('moves axes/split attributes to inputs and keeps the results', async () => {
    const before = legacyModel();
    const { after, result } = await applyPass(upgradeOpsetPass, before, { version: 21 });
    assert.equal(result.stats.nodesRewritten, 5);
    assert.equal(after.opsetVersion(''), 21);
    for (const n of after.graph.nodes) assert.equal(n.getInts('axes') ?? n.getInts('split'), undefined, `${n.opType} still has the attribute`);
    await assertSameOutputs(before, after, { atol: 0 });
  });

  it('only rewrites what changed between the two versions', async () => {
    const { after } = await applyPass(upgradeOpsetPass, legacyModel(), { version: 13 });
    assert.ok(after.graph.nodesOfType('ReduceMean')[0]!.getInts('axes'), 'ReduceMean keeps axes as an attribute until opset 18');
    const { result } = await applyPass(upgradeOpsetPass, after, { version: 18 });
    assert.equal(result.stats.nodesRewritten, 1);
  });

  for (const opType of ['Softmax', 'LogSoftmax', 'Hardmax']) {
    it(`keeps the flattened-tail meaning of an old ${opType} (default axis 1 on rank 3)`, async () => {
      const before = newModel(11);
      const g = before.graph;
      const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 3, 4] });
      const y = g.addNode({ opType, inputs: [x], outputs: ['y'] }).output(0);
      const z = g.addNode({ opType: 'Mul', inputs: [y, y], outputs: ['z'] }).output(0);
      g.outputs.push(y, z);
      const { after, result } = await applyPass(upgradeOpsetPass, before, { version: 13 });
      assert.equal(result.stats.nodesRewritten, 1);
      assert.deepEqual(after.graph.outputs.map((v) => v.name), ['y', 'z']);
      await assertSameOutputs(before, after, { atol: 1e-6 });
    });
  }

  it('writes the axis out when the old axis already was the last one', async () => {
    const before = newModel(11);
    const x = before.graph.addInput('x', { elemType: DType.FLOAT, shape: [2, 3, 4] });
    before.graph.outputs.push(before.graph.addNode({ opType: 'Softmax', inputs: [x], attributes: { axis: { type: 'int', value: 2 } } }).output(0));
    const { after } = await applyPass(upgradeOpsetPass, before, { version: 13 });
    assert.deepEqual(after.graph.nodes.map((n) => n.opType), ['Softmax']);
    assert.equal(after.graph.nodes[0]!.getInt('axis'), -1);
    await assertSameOutputs(before, after, { atol: 1e-6 });
  });

  it('does nothing on a model already at the version', async () => {
    const { after } = await applyPass(upgradeOpsetPass, legacyModel(), { version: 21 });
    assert.equal((await applyPass(upgradeOpsetPass, after, { version: 21 })).result.modified, false);
  });

  it('refuses a model older than it can convert', async () => {
    const model = newModel(9);
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [2] });
    model.graph.outputs.push(model.graph.addNode({ opType: 'Relu', inputs: [x] }).output(0));
    await assert.rejects(applyPass(upgradeOpsetPass, model, { version: 21 }), /supported from 11/);
  });
});
