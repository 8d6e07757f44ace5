import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newModel, randomWeight, mlpWithClutter } from '../helpers/tiny.js';
import { DType } from '../../src/ir/dtype.js';
import { verifyModel } from '../../src/ir/verify.js';
import { sortTopologically } from '../../src/ir/sort.js';
import { InvariantError } from '../../src/errors.js';
import { assertSameOutputs, cloneModel } from '../helpers/model.js';

describe('graph use-def', () => {
  it('records producers and uses as nodes are added and rewired', () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2] });
    const relu = g.addNode({ opType: 'Relu', inputs: [x] });
    const neg = g.addNode({ opType: 'Neg', inputs: [relu.output(0)] });
    assert.equal(relu.output(0).producer, relu);
    assert.deepEqual(x.consumers(), [relu]);
    neg.setInput(0, x);
    assert.deepEqual(x.consumers(), [relu, neg]);
    assert.equal(relu.output(0).uses.length, 0);
    g.outputs.push(neg.output(0));
    verifyModel(model);
  });

  it('refuses to remove a node whose output is still read', () => {
    const model = mlpWithClutter();
    const matmul = model.graph.nodesOfType('MatMul')[0]!;
    assert.throws(() => model.graph.removeNode(matmul), InvariantError);
  });

  it('refuses a second definition of a name', () => {
    const model = newModel();
    model.graph.addInput('x');
    assert.throws(() => model.graph.createValue('x'), /defined twice/);
  });

  it('keeps graph output names when a graph output is replaced', async () => {
    const model = mlpWithClutter();
    const before = cloneModel(model);
    const g = model.graph;
    const last = g.nodesOfType('MatMul')[1]!;
    const y = last.output(0);
    const copy = g.addNode({ opType: 'MatMul', inputs: [last.input(0), last.input(1)] });
    y.replaceAllUsesWith(copy.output(0));
    g.removeNode(last);
    assert.equal(g.outputs[0]!.name, 'y');
    assert.equal(g.outputs[0], copy.output(0));
    verifyModel(model);
    await assertSameOutputs(before, model, { atol: 0, dims: { batch: 3 } });
  });

  it('renames a value everywhere it is read', () => {
    const model = mlpWithClutter();
    const w1 = model.graph.lookup('w1')!;
    w1.rename('first_weight');
    assert.equal(model.graph.lookup('w1'), undefined);
    assert.equal(model.graph.lookup('first_weight'), w1);
    assert.equal(model.graph.nodesOfType('MatMul')[0]!.input(1).name, 'first_weight');
    verifyModel(model);
  });

  it('hands out fresh names that do not collide', () => {
    const model = newModel();
    model.graph.addInput('t');
    const a = model.freshName('t');
    model.graph.createValue(a);
    const b = model.freshName('t');
    assert.notEqual(a, 't');
    assert.notEqual(a, b);
  });
});

describe('topological order', () => {
  it('restores producer-before-consumer order and keeps valid orders unchanged', () => {
    const model = mlpWithClutter();
    const nodes = model.graph.nodes;
    assert.equal(sortTopologically(model.graph), false);
    nodes.reverse();
    assert.throws(() => verifyModel(model), /before it is produced/);
    assert.equal(sortTopologically(model.graph), true);
    verifyModel(model);
  });

  it('reports a cycle', () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2] });
    const a = g.addNode({ opType: 'Relu', inputs: [x] });
    const b = g.addNode({ opType: 'Neg', inputs: [a.output(0)] });
    a.setInput(0, b.output(0));
    assert.throws(() => sortTopologically(g), /cycle/);
  });
});

describe('verify', () => {
  it('catches a use the value does not record', () => {
    const model = mlpWithClutter();
    const relu = model.graph.nodesOfType('Relu')[0]!;
    const input = relu.input(0);
    input.uses.splice(0, input.uses.length);
    assert.throws(() => verifyModel(model), /does not record its use/);
  });

  it('catches a domain without an opset import', () => {
    const model = newModel();
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [2] });
    const n = model.graph.addNode({ opType: 'FastGelu', domain: 'com.microsoft', inputs: [x] });
    model.graph.outputs.push(n.output(0));
    assert.throws(() => verifyModel(model), /com.microsoft/);
    model.requireOpset('com.microsoft', 1);
    verifyModel(model);
  });

  it('accepts weights that feed several nodes', () => {
    const model = newModel();
    const w = randomWeight(model, 'w', [4, 4]);
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [1, 4] });
    const a = model.graph.addNode({ opType: 'MatMul', inputs: [x, w] });
    const b = model.graph.addNode({ opType: 'MatMul', inputs: [a.output(0), w] });
    model.graph.outputs.push(b.output(0));
    verifyModel(model);
    assert.equal(w.uses.length, 2);
  });
});
