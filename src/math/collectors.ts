/**
 * Streaming collectors: each observes one value batch by batch in fixed memory (no activations kept).
 * Ranges (min/max), histograms (percentile and entropy calibration), per-channel max |x| (SmoothQuant,
 * activation-aware scaling), per-channel sum of squares (Wanda) and the Gram matrix XᵀX (GPTQ, SparseGPT).
 * "Channel" is the last axis.
 */

export interface Collector {
  observe(data: Float32Array, dims: readonly number[]): void;
}

export class MinMaxCollector implements Collector {
  min = Infinity;
  max = -Infinity;
  observe(data: Float32Array): void {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
  }
}

/**
 * Histogram of |x| over [0, range] with a fixed number of bins; when a batch exceeds the range, the range
 * doubles and bins are merged pairwise, so the memory stays fixed whatever the data.
 */
export class AbsHistogramCollector implements Collector {
  readonly counts: Float64Array;
  range = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly bins = 2048) {
    this.counts = new Float64Array(bins);
  }

  observe(data: Float32Array): void {
    let peak = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      const a = Math.abs(v);
      if (a > peak) peak = a;
    }
    if (peak === 0 && this.range === 0) { this.counts[0]! += data.length; return; }
    if (this.range === 0) this.range = peak;
    while (peak > this.range) this.grow();
    const scale = this.bins / this.range;
    for (let i = 0; i < data.length; i++) {
      const bin = Math.min(this.bins - 1, Math.floor(Math.abs(data[i]!) * scale));
      this.counts[bin]! += 1;
    }
  }

  private grow(): void {
    for (let i = 0; i < this.bins / 2; i++) this.counts[i] = this.counts[2 * i]! + this.counts[2 * i + 1]!;
    this.counts.fill(0, this.bins / 2);
    this.range *= 2;
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }
}

export class ChannelAbsMaxCollector implements Collector {
  values: Float32Array | undefined;
  observe(data: Float32Array, dims: readonly number[]): void {
    const c = dims[dims.length - 1]!;
    this.values ??= new Float32Array(c);
    for (let i = 0; i < data.length; i++) {
      const a = Math.abs(data[i]!);
      const ch = i % c;
      if (a > this.values[ch]!) this.values[ch] = a;
    }
  }
}

export class ChannelSquareSumCollector implements Collector {
  sums: Float64Array | undefined;
  rows = 0;
  observe(data: Float32Array, dims: readonly number[]): void {
    const c = dims[dims.length - 1]!;
    this.sums ??= new Float64Array(c);
    for (let i = 0; i < data.length; i++) this.sums[i % c]! += data[i]! * data[i]!;
    this.rows += data.length / c;
  }
  /** ‖X_j‖₂ per channel. */
  norms(): Float64Array {
    return (this.sums ?? new Float64Array()).map(Math.sqrt);
  }
}

/** Σ x per channel and the row count: with XᵀX, the Gram matrix of [X, 1] (refitting a bias). */
export class ChannelSumCollector implements Collector {
  sums: Float64Array | undefined;
  rows = 0;
  observe(data: Float32Array, dims: readonly number[]): void {
    const c = dims[dims.length - 1]!;
    this.sums ??= new Float64Array(c);
    for (let i = 0; i < data.length; i++) this.sums[i % c]! += data[i]!;
    this.rows += data.length / c;
  }
}

/** Accumulates XᵀX (K×K, float64) over rows of the last axis; `rows` counts the samples. */
export class GramCollector implements Collector {
  gram: Float64Array | undefined;
  k = 0;
  rows = 0;
  observe(data: Float32Array, dims: readonly number[]): void {
    const k = dims[dims.length - 1]!;
    if (!this.gram) { this.gram = new Float64Array(k * k); this.k = k; }
    const g = this.gram;
    const n = data.length / k;
    for (let r = 0; r < n; r++) {
      const row = data.subarray(r * k, r * k + k);
      for (let i = 0; i < k; i++) {
        const xi = row[i]!;
        if (xi === 0) continue;
        const base = i * k;
        for (let j = i; j < k; j++) g[base + j]! += xi * row[j]!;
      }
    }
    this.rows += n;
  }
  /** The symmetric matrix (upper triangle mirrored), divided by the sample count. */
  mean(): Float64Array {
    const g = Float64Array.from(this.gram ?? []);
    for (let i = 0; i < this.k; i++) for (let j = i + 1; j < this.k; j++) g[j * this.k + i] = g[i * this.k + j]!;
    if (this.rows > 0) for (let i = 0; i < g.length; i++) g[i]! /= this.rows;
    return g;
  }
}

/**
 * Histogram of signed values over [-limit, limit] in 2·binsPerSide equal bins. The limit starts at the
 * first batch's max |x| and doubles (bins merged pairwise, on both sides) whenever a batch exceeds it, so
 * one pass suffices and memory stays fixed. NaN is skipped; ±Infinity only reaches min/max.
 */
export class SymmetricHistogramCollector implements Collector {
  readonly counts: Float64Array;
  limit = 0;
  /** Exact zeros among the samples (counted in bin B as well). */
  zeros = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly binsPerSide = 2048) {
    this.counts = new Float64Array(2 * binsPerSide);
  }

  observe(data: Float32Array): void {
    let peak = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      const a = Math.abs(v);
      if (a > peak && a !== Infinity) peak = a;
    }
    if (this.limit === 0) this.limit = peak;
    while (peak > this.limit) this.grow();
    const b = this.binsPerSide;
    const scale = b / this.limit;
    // A zero or denormal limit: only the sign is known, so values go to the two central bins.
    const degenerate = !(this.limit > 0) || !Number.isFinite(scale);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (Number.isNaN(v) || v === Infinity || v === -Infinity) continue;
      if (v === 0) this.zeros++;
      const k = degenerate ? 0 : Math.min(b - 1, Math.floor(Math.abs(v) * scale));
      this.counts[v < 0 ? b - 1 - k : b + k]! += 1;
    }
  }

  private grow(): void {
    const b = this.binsPerSide;
    for (let k = 0; k < b / 2; k++) {
      this.counts[b + k] = this.counts[b + 2 * k]! + this.counts[b + 2 * k + 1]!;
      this.counts[b - 1 - k] = this.counts[b - 1 - 2 * k]! + this.counts[b - 2 - 2 * k]!;
    }
    this.counts.fill(0, b + b / 2);
    this.counts.fill(0, 0, b / 2);
    this.limit *= 2;
  }
}
