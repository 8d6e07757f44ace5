/**
 * A model where matrix products are nearly all the work: `layers` blocks of MatMul(width -> inner), Relu,
 * MatMul(inner -> width) with a residual Add, on float activations [1, tokens, width]. Seeded weights.
 */
import { scratchModel, type Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import { mulberry32 } from '../../src/runtime/feeds.js';

export interface GemmShape {
  readonly layers: number;
  readonly width: number;
  readonly inner: number;
}

export function buildGemmModel({ layers, width, inner }: GemmShape, seed = 1): Model {
  const model = scratchModel('gemm-chain');
  model.producerName = 'llmopt-bench';
  const g = model.graph;
  const random = mulberry32(seed);
  const weight = (name: string, rows: number, cols: number) => {
    const data = new Float32Array(rows * cols);
    const std = 1 / Math.sqrt(rows);
    for (let i = 0; i < data.length; i++) data[i] = (random() * 2 - 1) * std * Math.sqrt(3);
    return g.addInitializer(Tensor.fromTyped(name, DType.FLOAT, [rows, cols], data), name);
  };
  let h = g.addInput('x', { elemType: DType.FLOAT, shape: [1, 'tokens', width] });
  for (let i = 0; i < layers; i++) {
    const up = g.addNode({ opType: 'MatMul', inputs: [h, weight(`l${i}.up`, width, inner)] }).output(0);
    const act = g.addNode({ opType: 'Relu', inputs: [up] }).output(0);
    const down = g.addNode({ opType: 'MatMul', inputs: [act, weight(`l${i}.down`, inner, width)] }).output(0);
    h = g.addNode({ opType: 'Add', inputs: [h, down] }).output(0);
  }
  const y = g.addNode({ opType: 'Identity', inputs: [h], outputs: ['y'] }).output(0);
  g.outputs.push(y);
  return model;
}
