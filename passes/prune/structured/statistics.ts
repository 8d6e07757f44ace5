/**
 * What calibration tells about the input of a consuming projection (down, o): per channel mean |x| and
 * mean x² (importance), and XᵀX (the refit). Collected once, on the dense model, before any edit.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { calibrate, type CalibrationRequest } from '../../../src/runtime/calibrate.js';
import { GramCollector, type Collector } from '../../../src/math/collectors.js';

export interface InputStatistics {
  readonly absMean: Float64Array;
  readonly squareMean: Float64Array;
  /** Mean XᵀX, K×K row-major (when asked for). */
  readonly gram: Float64Array | undefined;
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

export async function collectInputStatistics(model: Model, data: Dataset, values: readonly string[], options: { gram: boolean; rows: number }): Promise<Map<string, InputStatistics>> {
  const moments = new Map(values.map((v) => [v, new ChannelMomentsCollector()]));
  const grams = new Map(options.gram ? values.map((v) => [v, new GramCollector()]) : []);
  const requests: CalibrationRequest[] = [];
  for (const [value, collector] of moments) requests.push({ value, collector });
  for (const [value, collector] of grams) requests.push({ value, collector });
  await calibrate(model, data, requests, { limit: options.rows, batchSize: 4 });
  const out = new Map<string, InputStatistics>();
  for (const [name, m] of moments) {
    const rows = Math.max(1, m.rows);
    out.set(name, {
      absMean: (m.abs ?? new Float64Array()).map((x) => x / rows),
      squareMean: (m.square ?? new Float64Array()).map((x) => x / rows),
      gram: grams.get(name)?.mean(),
    });
  }
  return out;
}
