/**
 * XᵀX of linear layers' inputs over the calibration data, for GPTQ. The products run inside onnxruntime:
 * a probe copy of the model gets, per input x[..., K],
 *   x -> Reshape([-1, K]) -> Gemm(transA=1) with itself -> XᵀX of the batch [K, K]
 * and the batches add up in float64. A JavaScript rank-1 accumulation (GramCollector) reaches about
 * 0.5 GMAC/s here: some 25 s for llama-tiny's 17 layer inputs over 64 rows of 128 tokens (13 G MAC), where
 * the runtime's GEMM takes a few seconds. Memory stays K×K per input.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { SumCollector } from './collectors.js';
import { calibrate, type CalibrationRequest } from '../../../src/runtime/calibrate.js';

/**
 * Value name -> K (its last axis). Returns value name -> XᵀX (K×K, row-major, summed over all tokens).
 * `also` rides along in the same run (requests on values of the model).
 */
export async function collectGrams(
  model: Model, inputs: ReadonlyMap<string, number>, data: Dataset, onBatch?: (done: number, total: number) => void,
  also: readonly CalibrationRequest[] = [],
): Promise<Map<string, Float64Array>> {
  const probe = cloneModel(model);
  const g = probe.graph;
  const requests: CalibrationRequest[] = [...also];
  const byInput = new Map<string, SumCollector>();
  for (const [name, k] of inputs) {
    const x = g.lookup(name);
    if (!x) throw new RangeError(`no value '${name}' to calibrate`);
    const shape = g.addConstant(`${name}_rows_shape`, Tensor.fromTyped(`${name}_rows_shape`, DType.INT64, [2], BigInt64Array.from([-1n, BigInt(k)])));
    const rows = g.addNode({ opType: 'Reshape', inputs: [x, shape] }).output(0);
    const gram = g.addNode({ opType: 'Gemm', inputs: [rows, rows], attributes: { transA: { type: 'int', value: 1 } } }).output(0);
    const collector = new SumCollector();
    requests.push({ value: gram.name, collector });
    byInput.set(name, collector);
  }
  await calibrate(probe, data, requests, { onBatch });
  const out = new Map<string, Float64Array>();
  for (const [name, k] of inputs) out.set(name, byInput.get(name)!.sum ?? new Float64Array(k * k));
  return out;
}
