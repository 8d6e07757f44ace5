/**
 * Streaming collectors for the calibrated algorithms (same contract as src/math/collectors.ts: each
 * observes one value batch by batch in fixed memory; "channel" and "row" refer to the last axis).
 */
import type { Collector } from '../../../src/math/collectors.js';

/**
 * Elementwise sum of every batch of a fixed-shape value: reductions computed inside the model (a per-batch
 * XᵀX from a Gemm) add up here in float64.
 */
export class SumCollector implements Collector {
  sum: Float64Array | undefined;
  batches = 0;
  observe(data: Float32Array): void {
    this.sum ??= new Float64Array(data.length);
    if (data.length !== this.sum.length) throw new RangeError(`SumCollector: batch of ${data.length} values, expected ${this.sum.length}`);
    for (let i = 0; i < data.length; i++) this.sum[i]! += data[i]!;
    this.batches++;
  }
}

/** Mean |x| per channel (activation-aware weight scaling). */
export class ChannelAbsMeanCollector implements Collector {
  sums: Float64Array | undefined;
  rows = 0;
  observe(data: Float32Array, dims: readonly number[]): void {
    const c = dims[dims.length - 1]!;
    this.sums ??= new Float64Array(c);
    for (let i = 0; i < data.length; i++) this.sums[i % c]! += Math.abs(data[i]!);
    this.rows += data.length / c;
  }
  means(): Float64Array {
    const rows = Math.max(1, this.rows);
    return (this.sums ?? new Float64Array()).map((s) => s / rows);
  }
}

/**
 * A uniform random sample of `size` rows from the whole stream, in fixed memory (reservoir sampling);
 * `random` returns numbers in [0, 1), seeded by the caller for reproducible runs.
 */
export class RowSampleCollector implements Collector {
  private rows: Float32Array | undefined;
  width = 0;
  seen = 0;
  constructor(readonly size: number, private readonly random: () => number) {}
  observe(data: Float32Array, dims: readonly number[]): void {
    const c = dims[dims.length - 1]!;
    if (!this.rows) { this.rows = new Float32Array(this.size * c); this.width = c; }
    for (let r = 0; r < data.length / c; r++, this.seen++) {
      const slot = this.seen < this.size ? this.seen : Math.floor(this.random() * (this.seen + 1));
      if (slot < this.size) this.rows.set(data.subarray(r * c, r * c + c), slot * c);
    }
  }
  get count(): number { return Math.min(this.seen, this.size); }
  /** The sampled rows, [count][width]. */
  sample(): Float32Array { return (this.rows ?? new Float32Array()).subarray(0, this.count * this.width); }
}

/** Only the size of the last axis (to check that a Reshape keeps channels in place). */
export class LastAxisCollector implements Collector {
  size: number | undefined;
  observe(_data: Float32Array, dims: readonly number[]): void { this.size = dims[dims.length - 1]; }
}
