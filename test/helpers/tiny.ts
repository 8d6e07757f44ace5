/** Small hand-built graphs for IR and cleanup-pass tests. */
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import type { Value } from '../../src/ir/value.js';
import { mulberry32 } from '../../src/runtime/feeds.js';

export function newModel(opset = 17): Model {
  const model = new Model('test');
  model.irVersion = 8;
  model.opsetImports = [{ domain: '', version: opset }];
  model.producerName = 'llmopt-tests';
  return model;
}

export function randomWeight(model: Model, hint: string, dims: number[], seed = 1): Value {
  const rand = mulberry32(seed);
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rand() - 0.5);
  return model.graph.addConstant(hint, Tensor.fromTyped(hint, DType.FLOAT, dims, data));
}

/**
 * x[batch, 8] -> MatMul(W1) -> Identity -> Add(b) -> Relu -> MatMul(W2) -> y[batch, 4]
 * plus a dead branch (Sigmoid of x, unused) and an unused initializer.
 */
export function mlpWithClutter(): Model {
  const model = newModel();
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 8] });
  const h = g.addNode({ opType: 'MatMul', inputs: [x, randomWeight(model, 'w1', [8, 16], 1)] }).output(0);
  const hi = g.addNode({ opType: 'Identity', inputs: [h] }).output(0);
  const a = g.addNode({ opType: 'Add', inputs: [hi, randomWeight(model, 'b1', [16], 2)] }).output(0);
  const r = g.addNode({ opType: 'Relu', inputs: [a] }).output(0);
  const y = g.addNode({ opType: 'MatMul', inputs: [r, randomWeight(model, 'w2', [16, 4], 3)], outputs: ['y'] }).output(0);
  y.type = { elemType: DType.FLOAT, shape: ['batch', 4] };
  g.outputs.push(y);
  g.addNode({ opType: 'Sigmoid', inputs: [x] });
  randomWeight(model, 'unused', [3], 4);
  return model;
}
