/**
 * Calibration statistics of layer inputs: XᵀX (SparseGPT, reconstruction), Σx² per channel (Wanda) and Σx
 * per channel (refitting a bias); with a dense model, also X̃ᵀX between the input as the pruned model
 * computes it (X̃) and as the dense model does (X), and the dense Σx. Products run inside onnxruntime:
 *   x -> Reshape([-1, K]) -> Gemm(transA=1) with itself (or with the dense twin's rows) -> [K, K] per batch
 * and the batches add up in float64. The probe copy keeps only the nodes these values need (its graph
 * outputs are replaced), so statistics of early layers do not pay for the rest of the model.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { calibrate, type CalibrationRequest } from '../../../src/runtime/calibrate.js';
import { ChannelSquareSumCollector, ChannelSumCollector } from '../../../src/math/collectors.js';
import { SumCollector } from '../../quantize/weight-only/collectors.js';
import removeDeadNodes from '../../cleanup/remove-dead-nodes.js';
import { addDenseTwin } from './twin.js';
import type { Value } from '../../../src/ir/value.js';
import type { Graph } from '../../../src/ir/graph.js';

export interface StatisticsRequest {
  /** A layer input (a float value of the main graph) and its last axis. */
  readonly value: string;
  readonly k: number;
  readonly gram: boolean;
  readonly squares: boolean;
  readonly sums: boolean;
  /** X̃ᵀX and the dense Σx (needs the dense model). */
  readonly cross: boolean;
}

export interface InputStatistics {
  readonly k: number;
  /** Σ xᵀx over all rows, K×K row-major. */
  readonly gram: Float64Array | undefined;
  /** Σ x² per channel. */
  readonly squares: Float64Array | undefined;
  /** Σ x per channel. */
  readonly sums: Float64Array | undefined;
  /** Rows observed (0 when only XᵀX was asked for). */
  readonly rows: number;
  /** Σ x̃ᵀx: rows index the pruned model's input, columns the dense model's. */
  readonly cross: Float64Array | undefined;
  /** Σ x per channel of the dense model's input. */
  readonly denseSums: Float64Array | undefined;
}

/**
 * Statistics of the requested values over the calibration data. `dense` (the unpruned model) is needed for
 * `cross` requests; when its twin cannot be built (control-flow subgraphs) those come back undefined.
 */
export async function collectStatistics(
  model: Model, requests: readonly StatisticsRequest[], data: Dataset, dense?: Model, onBatch?: (done: number, total: number) => void,
): Promise<Map<string, InputStatistics>> {
  const probe = cloneModel(model);
  const g = probe.graph;
  g.outputs.length = 0;
  const crossNames = requests.filter((r) => r.cross).map((r) => r.value);
  const twin = dense && crossNames.length ? addDenseTwin(probe, dense, crossNames) : undefined;
  const calls: CalibrationRequest[] = [];
  const expose = (v: Value, collector: CalibrationRequest['collector']) => {
    if (!v.isGraphInput && !g.outputs.includes(v)) g.outputs.push(v);
    calls.push({ value: v.name, collector });
  };
  const found = requests.map((r) => {
    const x = g.lookup(r.value);
    if (!x) throw new RangeError(`no value '${r.value}' to calibrate`);
    const xd = twin?.get(r.value);
    const rows = r.gram || xd ? rowsOf(g, x, r.k) : undefined;
    const gram = rows && r.gram ? new SumCollector() : undefined;
    if (gram) expose(product(g, rows!, rows!), gram);
    const cross = rows && xd ? new SumCollector() : undefined;
    if (cross) expose(product(g, rows!, rowsOf(g, xd!, r.k)), cross);
    const squares = r.squares ? new ChannelSquareSumCollector() : undefined;
    const sums = r.sums ? new ChannelSumCollector() : undefined;
    const denseSums = r.sums && xd ? new ChannelSumCollector() : undefined;
    if (squares) expose(x, squares);
    if (sums) expose(x, sums);
    if (denseSums) expose(xd!, denseSums);
    return { r, gram, cross, squares, sums, denseSums };
  });
  await removeDeadNodes.run(probe, {}, quietContext());
  await calibrate(probe, data, calls, { onBatch });
  const out = new Map<string, InputStatistics>();
  const square = (c: SumCollector | undefined, k: number) => (c ? c.sum ?? new Float64Array(k * k) : undefined);
  const line = (c: ChannelSumCollector | ChannelSquareSumCollector | undefined, k: number) => (c ? c.sums ?? new Float64Array(k) : undefined);
  for (const { r, gram, cross, squares, sums, denseSums } of found) {
    out.set(r.value, {
      k: r.k, gram: square(gram, r.k), cross: square(cross, r.k), squares: line(squares, r.k), sums: line(sums, r.k),
      denseSums: line(denseSums, r.k), rows: sums?.rows ?? squares?.rows ?? 0,
    });
  }
  return out;
}

/** x[..., K] -> [rows, K]. */
function rowsOf(g: Graph, x: Value, k: number): Value {
  const name = `${x.name}_rows_shape`;
  const shape = g.addConstant(name, Tensor.fromTyped(name, DType.INT64, [2], BigInt64Array.from([-1n, BigInt(k)])));
  return g.addNode({ opType: 'Reshape', inputs: [x, shape] }).output(0);
}

/** aᵀb [K, K] of two [rows, K] values. */
function product(g: Graph, a: Value, b: Value): Value {
  return g.addNode({ opType: 'Gemm', inputs: [a, b], attributes: { transA: { type: 'int', value: 1 } } }).output(0);
}
