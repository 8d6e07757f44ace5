/** Shared pieces of the pruning tests: small graphs, weights by layer, token data sets, output errors. */
import type { Model } from '../../../src/ir/model.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { quietContext, type Pass, type PassResult } from '../../../src/pipeline/pass.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { batchFeeds } from '../../../src/data/dataset.js';
import { DType } from '../../../src/ir/dtype.js';
import { runModel } from '../../../src/runtime/session.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';
import { newModel, randomWeight } from '../../helpers/tiny.js';
import { findPrunableLayers, type PrunableLayer } from '../../../passes/prune/engine/layers.js';

/**
 * x[b, 24] -> MatMul(W1[24,32]) -> Relu -> Gemm(W2[16,32], b2, transB=1, α=0.5, β=2) -> Relu
 *          -> MatMul(Transpose(W3[8,16])) -> y[b, 8]
 * Three linear layers in the three weight layouts; the last is the output head.
 */
export function threeLayers(): Model {
  const model = newModel();
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 24] });
  const h = g.addNode({ opType: 'MatMul', name: 'first', inputs: [x, randomWeight(model, 'w1', [24, 32], 1)] }).output(0);
  const r = g.addNode({ opType: 'Relu', inputs: [h] }).output(0);
  const h2 = g.addNode({
    opType: 'Gemm', name: 'middle', inputs: [r, randomWeight(model, 'w2', [16, 32], 2), randomWeight(model, 'b2', [16], 3)],
    attributes: { transB: { type: 'int', value: 1 }, alpha: { type: 'float', value: 0.5 }, beta: { type: 'float', value: 2 } },
  }).output(0);
  const r2 = g.addNode({ opType: 'Relu', inputs: [h2] }).output(0);
  const t = g.addNode({ opType: 'Transpose', inputs: [randomWeight(model, 'w3', [8, 16], 4)], attributes: { perm: { type: 'ints', value: [1, 0] } } }).output(0);
  const y = g.addNode({ opType: 'MatMul', name: 'last', inputs: [r2, t], outputs: ['y'] }).output(0);
  y.type = { elemType: DType.FLOAT, shape: ['batch', 8] };
  g.outputs.push(y);
  return model;
}

export function layersByLabel(model: Model): Map<string, PrunableLayer> {
  return new Map(findPrunableLayers(model).layers.map((l) => [l.label, l]));
}

export function zerosOf(layer: PrunableLayer): number {
  return layer.weight.initializer!.toFloat32().filter((v) => v === 0).length;
}

/** Random token ids [rows, seq] below `vocab` as a calibration data set for `input`. */
export function tokenData(rows: number, seq: number, vocab: number, seed: number, input = 'input_ids'): Dataset {
  const r = mulberry32(seed);
  const data = BigInt64Array.from({ length: rows * seq }, () => BigInt(Math.floor(r() * vocab)));
  return { arrays: new Map([[input, { dtype: DType.INT64, dims: [rows, seq], data }]]), rows, source: 'test' };
}

/** Random float rows [rows, k] for a float input. */
export function floatData(rows: number, k: number, seed: number, input = 'x'): Dataset {
  const r = mulberry32(seed);
  const data = Float32Array.from({ length: rows * k }, () => (r() - 0.5) * 2);
  return { arrays: new Map([[input, { dtype: DType.FLOAT, dims: [rows, k], data }]]), rows, source: 'test' };
}

/** ‖b − a‖ / ‖a‖ over the first output of both models on the data's rows. */
export async function relativeOutputError(reference: Model, candidate: Model, data: Dataset): Promise<number> {
  const feeds = batchFeeds(data, reference, 0, data.rows);
  const a = await runModel(reference, feeds);
  const b = await runModel(candidate, feeds);
  const name = reference.graph.outputs[0]!.name;
  const x = a[name]!.data as Float32Array;
  const y = b[name]!.data as Float32Array;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) { num += (x[i]! - y[i]!) ** 2; den += x[i]! ** 2; }
  return Math.sqrt(num / den);
}

/** Runs a pruning pass on a copy with calibration data; verifies the IR afterwards. */
export async function prunedWith(pass: Pass, model: Model, options: Readonly<Record<string, unknown>>, data?: Dataset): Promise<{ after: Model; result: PassResult }> {
  const after = cloneModel(model);
  const result = await pass.run(after, pass.options.parse(options), quietContext({ calibration: data }));
  verifyModel(after, pass.name);
  return { after, result };
}
