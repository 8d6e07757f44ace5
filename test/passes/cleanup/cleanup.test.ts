import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import removeIdentity from '../../../passes/cleanup/remove-identity.js';
import removeDeadNodes from '../../../passes/cleanup/remove-dead-nodes.js';
import removeUnusedInitializers from '../../../passes/cleanup/remove-unused-initializers.js';
import dedupeInitializers from '../../../passes/cleanup/dedupe-initializers.js';
import sortTopologicallyPass from '../../../passes/cleanup/sort-topologically.js';
import { applyPass, assertSameOutputs, opTypes } from '../../helpers/model.js';
import { mlpWithClutter, newModel, randomWeight } from '../../helpers/tiny.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';

const feeds = { dims: { batch: 3 }, atol: 0 };

describe('remove-identity', () => {
  it('removes an interior Identity with identical outputs', async () => {
    const before = mlpWithClutter();
    const { after, result } = await applyPass(removeIdentity, before);
    assert.equal(result.stats.removed, 1);
    assert.ok(!opTypes(after).includes('Identity'));
    await assertSameOutputs(before, after, feeds);
  });

  it('keeps the Identity that links a graph input straight to a graph output', async () => {
    const model = newModel();
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [2] });
    const id = model.graph.addNode({ opType: 'Identity', inputs: [x], outputs: ['y'] });
    model.graph.outputs.push(id.output(0));
    const { result } = await applyPass(removeIdentity, model);
    assert.equal(result.modified, false);
  });

  it('keeps the output name when the Identity produces a graph output', async () => {
    const model = newModel();
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [2] });
    const relu = model.graph.addNode({ opType: 'Relu', inputs: [x] });
    const id = model.graph.addNode({ opType: 'Identity', inputs: [relu.output(0)], outputs: ['y'] });
    model.graph.outputs.push(id.output(0));
    const { after, result } = await applyPass(removeIdentity, model);
    assert.equal(result.stats.removed, 1);
    assert.deepEqual(after.graph.outputs.map((v) => v.name), ['y']);
    await assertSameOutputs(model, after, feeds);
  });

  it('changes nothing on a second run', async () => {
    const { after } = await applyPass(removeIdentity, mlpWithClutter());
    assert.equal((await applyPass(removeIdentity, after)).result.modified, false);
  });
});

describe('remove-dead-nodes', () => {
  it('removes a branch no output depends on', async () => {
    const before = mlpWithClutter();
    const { after, result } = await applyPass(removeDeadNodes, before);
    assert.equal(result.stats.removed, 1);
    assert.ok(!opTypes(after).includes('Sigmoid'));
    await assertSameOutputs(before, after, feeds);
    assert.equal((await applyPass(removeDeadNodes, after)).result.modified, false);
  });

  it('removes a whole dead chain in one run', async () => {
    const model = mlpWithClutter();
    const sig = model.graph.nodesOfType('Sigmoid')[0]!;
    const tanh = model.graph.addNode({ opType: 'Tanh', inputs: [sig.output(0)] });
    model.graph.addNode({ opType: 'Neg', inputs: [tanh.output(0)] });
    const { result } = await applyPass(removeDeadNodes, model);
    assert.equal(result.stats.removed, 3);
  });

  it('keeps everything on a graph without dead code', async () => {
    const { after } = await applyPass(removeDeadNodes, mlpWithClutter());
    assert.equal((await applyPass(removeDeadNodes, after)).result.modified, false);
  });
});

describe('remove-unused-initializers', () => {
  it('drops only the unread initializer', async () => {
    const before = mlpWithClutter();
    const { after, result } = await applyPass(removeUnusedInitializers, before);
    assert.equal(result.stats.removed, 1);
    assert.equal(result.stats.bytesFreed, 12);
    assert.equal(after.graph.lookup('unused'), undefined);
    await assertSameOutputs(before, after, feeds);
  });

  it('keeps an initializer that is also a declared graph input', async () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2] });
    g.addInput('default_scale', { elemType: DType.FLOAT, shape: [2] });
    g.addInitializer(Tensor.fromTyped('default_scale', DType.FLOAT, [2], new Float32Array([1, 2])));
    const n = g.addNode({ opType: 'Relu', inputs: [x] });
    g.outputs.push(n.output(0));
    const { result } = await applyPass(removeUnusedInitializers, model);
    assert.equal(result.modified, false);
  });
});

describe('dedupe-initializers', () => {
  it('merges identical constants and keeps distinct ones', async () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [1, 4] });
    const a = randomWeight(model, 'a', [4, 4], 7);
    const b = randomWeight(model, 'b', [4, 4], 7);
    const c = randomWeight(model, 'c', [4, 4], 8);
    const h1 = g.addNode({ opType: 'MatMul', inputs: [x, a] }).output(0);
    const h2 = g.addNode({ opType: 'MatMul', inputs: [h1, b] }).output(0);
    const y = g.addNode({ opType: 'MatMul', inputs: [h2, c], outputs: ['y'] }).output(0);
    g.outputs.push(y);
    const { after, result } = await applyPass(dedupeInitializers, model);
    assert.equal(result.stats.merged, 1);
    assert.equal(after.graph.initializers.length, 2);
    await assertSameOutputs(model, after, feeds);
    assert.equal((await applyPass(dedupeInitializers, after)).result.modified, false);
  });

  it('does not merge tensors with equal bytes but different shapes', async () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [4] });
    const s1 = g.addConstant('s1', Tensor.fromTyped('s1', DType.FLOAT, [4], new Float32Array([1, 2, 3, 4])));
    const s2 = g.addConstant('s2', Tensor.fromTyped('s2', DType.FLOAT, [2, 2], new Float32Array([1, 2, 3, 4])));
    const a = g.addNode({ opType: 'Add', inputs: [x, s1] }).output(0);
    const shaped = g.addNode({ opType: 'Reshape', inputs: [a, g.addConstant('shape', Tensor.fromTyped('shape', DType.INT64, [2], new BigInt64Array([2n, 2n])))] }).output(0);
    const y = g.addNode({ opType: 'Mul', inputs: [shaped, s2], outputs: ['y'] }).output(0);
    g.outputs.push(y);
    const { result } = await applyPass(dedupeInitializers, model);
    assert.equal(result.modified, false);
  });
});

describe('sort-topologically', () => {
  it('fixes a reversed node list and is stable afterwards', async () => {
    const before = mlpWithClutter();
    const shuffled = mlpWithClutter();
    shuffled.graph.nodes.reverse();
    const { after, result } = await applyPass(sortTopologicallyPass, shuffled);
    assert.equal(result.modified, true);
    await assertSameOutputs(before, after, feeds);
    assert.equal((await applyPass(sortTopologicallyPass, after)).result.modified, false);
  });
});
