/**
 * What calibration tells about the input of a consuming projection (down, o): per channel mean |x| and
 * mean x² (importance), and XᵀX (the refit); for the residual stream, mean x² (the scale of a block's
 * errors). Collected once, on the dense model, before any edit.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { calibrate, type CalibrationRequest } from '../../../src/runtime/calibrate.js';
import { ChannelSumCollector, GramCollector, type Collector } from '../../../src/math/collectors.js';
import type { GramSplit } from './ridge.js';

export interface InputStatistics {
  readonly absMean: Float64Array;
  readonly squareMean: Float64Array;
  /** Mean XᵀX, K×K row-major (when asked for). */
  readonly gram: Float64Array | undefined;
  /** The same over two disjoint parts of the rows, when there were enough batches to hold some out. */
  readonly split: GramSplit | undefined;
  /** Gram matrices of [X, 1], (K+1)×(K+1): the refit may add a bias that takes the mean of what it loses. */
  readonly withConstant: { readonly gram: Float64Array; readonly split: GramSplit | undefined } | undefined;
}

/** Every fourth batch is held out; fewer batches than this give no split. */
const HELD_OUT_EVERY = 4;

/** XᵀX over the fit and the held-out batches apart. */
class SplitGramCollector implements Collector {
  readonly fit = { gram: new GramCollector(), sum: new ChannelSumCollector() };
  readonly held = { gram: new GramCollector(), sum: new ChannelSumCollector() };
  private batches = 0;
  observe(data: Float32Array, dims: readonly number[]): void {
    const part = ++this.batches % HELD_OUT_EVERY === 0 ? this.held : this.fit;
    part.gram.observe(data, dims);
    part.sum.observe(data, dims);
  }
  /** Means over all rows, and over the two parts when both saw rows; without and with the constant input. */
  result(): Pick<InputStatistics, 'gram' | 'split' | 'withConstant'> {
    const [a, b] = [this.fit, this.held];
    if (!a.gram.rows) return { gram: undefined, split: undefined, withConstant: undefined };
    const parts = (b.gram.rows ? [a, b] : [a]).map((p) => ({ rows: p.gram.rows, gram: p.gram.mean(), mean: (p.sum.sums ?? new Float64Array()).map((x) => x / p.gram.rows) }));
    const total = parts.reduce((t, p) => t + p.rows, 0);
    const gram = parts[0]!.gram.map((_, i) => parts.reduce((t, p) => t + p.gram[i]! * p.rows, 0) / total);
    const mean = parts[0]!.mean.map((_, i) => parts.reduce((t, p) => t + p.mean[i]! * p.rows, 0) / total);
    const [fit, held] = parts;
    const split = held ? { fit: fit!.gram, held: held.gram } : undefined;
    const splitConstant = held ? { fit: addConstantInput(fit!.gram, fit!.mean), held: addConstantInput(held.gram, held.mean) } : undefined;
    return { gram, split, withConstant: { gram: addConstantInput(gram, mean), split: splitConstant } };
  }
}

/** [[G, μ], [μᵀ, 1]]: the mean Gram matrix of [X, 1] from that of X and the mean μ of X. */
function addConstantInput(gram: Float64Array, mean: Float64Array): Float64Array {
  const k = mean.length;
  const out = new Float64Array((k + 1) * (k + 1));
  for (let i = 0; i < k; i++) {
    out.set(gram.subarray(i * k, (i + 1) * k), i * (k + 1));
    out[i * (k + 1) + k] = mean[i]!;
    out[k * (k + 1) + i] = mean[i]!;
  }
  out[(k + 1) * (k + 1) - 1] = 1;
  return out;
}

/** Σ|x| and Σx² per channel (last axis). */
class ChannelMomentsCollector implements Collector {
  abs: Float64Array | undefined;
  square: Float64Array | undefined;
  rows = 0;
  observe(data: Float32Array, dims: readonly number[]): void {
    const c = dims[dims.length - 1]!;
    this.abs ??= new Float64Array(c);
    this.square ??= new Float64Array(c);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      this.abs[i % c]! += Math.abs(v);
      this.square[i % c]! += v * v;
    }
    this.rows += data.length / c;
  }
}

export interface StatisticsOptions {
  readonly gram: boolean;
  readonly rows: number;
  /** Further values whose moments (not XᵀX) are wanted. */
  readonly momentsOf?: readonly string[];
}

export async function collectInputStatistics(model: Model, data: Dataset, values: readonly string[], options: StatisticsOptions): Promise<Map<string, InputStatistics>> {
  const moments = new Map([...values, ...(options.momentsOf ?? [])].map((v) => [v, new ChannelMomentsCollector()]));
  const grams = new Map(options.gram ? values.map((v) => [v, new SplitGramCollector()]) : []);
  const requests: CalibrationRequest[] = [];
  for (const [value, collector] of moments) requests.push({ value, collector });
  for (const [value, collector] of grams) requests.push({ value, collector });
  await calibrate(model, data, requests, { limit: options.rows, batchSize: 4 });
  const out = new Map<string, InputStatistics>();
  for (const [name, m] of moments) {
    const rows = Math.max(1, m.rows);
    const refit = grams.get(name)?.result() ?? { gram: undefined, split: undefined, withConstant: undefined };
    out.set(name, {
      absMean: (m.abs ?? new Float64Array()).map((x) => x / rows),
      squareMean: (m.square ?? new Float64Array()).map((x) => x / rows),
      ...refit,
    });
  }
  return out;
}

/** Mean ‖x‖² per row: the sum of the channels' mean squares. */
export function meanSquaredNorm(s: InputStatistics): number {
  return s.squareMean.reduce((a, b) => a + b, 0);
}
