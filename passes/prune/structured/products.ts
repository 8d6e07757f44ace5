/**
 * Cross products of calibration activations, Σ aᵀb over all rows, where a is a value of the model as pruned
 * so far and b either another such value or the dense model's version of one (a dense twin copied into the
 * probe, so both sides come from the same batch). Products run inside onnxruntime:
 *   a -> Reshape([-1, Ka]) ┐
 *   b -> Reshape([-1, Kb]) ┴ Gemm(transA=1) -> [Ka, Kb] per batch, summed in float64
 * The probe keeps only the nodes these products need.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import type { Graph } from '../../../src/ir/graph.js';
import type { Value } from '../../../src/ir/value.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { calibrate } from '../../../src/runtime/calibrate.js';
import { SumCollector } from '../../quantize/weight-only/collectors.js';
import removeDeadNodes from '../../cleanup/remove-dead-nodes.js';
import { addDenseTwin } from '../engine/twin.js';

export interface ProductRequest {
  readonly left: string;
  readonly kLeft: number;
  readonly right: string;
  readonly kRight: number;
  /** Take the right side from the dense model. */
  readonly dense: boolean;
}

/** One [kLeft × kRight] sum per request; undefined when the dense twin cannot be built. */
export async function collectProducts(model: Model, dense: Model, data: Dataset, rows: number, requests: readonly ProductRequest[]): Promise<Float64Array[] | undefined> {
  const probe = cloneModel(model);
  const g = probe.graph;
  g.outputs.length = 0;
  const denseNames = [...new Set(requests.filter((r) => r.dense).map((r) => r.right))];
  const twin = denseNames.length ? addDenseTwin(probe, dense, denseNames) : new Map<string, Value>();
  if (!twin) return undefined;
  const reshaped = new Map<Value, Value>();
  const rowsOf = (v: Value, k: number): Value => {
    const known = reshaped.get(v);
    if (known) return known;
    const out = flatten(g, v, k);
    reshaped.set(v, out);
    return out;
  };
  const collectors = requests.map(() => new SumCollector());
  const calls = requests.map((r, i) => {
    const a = lookup(g, r.left);
    const b = r.dense ? twin.get(r.right)! : lookup(g, r.right);
    const p = g.addNode({ opType: 'Gemm', inputs: [rowsOf(a, r.kLeft), rowsOf(b, r.kRight)], attributes: { transA: { type: 'int', value: 1 } } }).output(0);
    g.outputs.push(p);
    return { value: p.name, collector: collectors[i]! };
  });
  await removeDeadNodes.run(probe, {}, quietContext());
  await calibrate(probe, data, calls, { limit: rows, batchSize: 4 });
  return requests.map((r, i) => collectors[i]!.sum ?? new Float64Array(r.kLeft * r.kRight));
}

function lookup(g: Graph, name: string): Value {
  const v = g.lookup(name);
  if (!v) throw new RangeError(`no value '${name}' to calibrate`);
  return v;
}

/** x[..., K] -> [rows, K]. */
function flatten(g: Graph, x: Value, k: number): Value {
  const name = g.model.freshName(`${x.name}_rows_shape`);
  const shape = g.addConstant(name, Tensor.fromTyped(name, DType.INT64, [2], BigInt64Array.from([-1n, BigInt(k)])));
  return g.addNode({ opType: 'Reshape', inputs: [x, shape] }).output(0);
}
