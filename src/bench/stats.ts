/**
 * Statistics of latency samples (milliseconds): order statistics, mean and spread, and the speed ratio of
 * two models measured in pairs. Percentiles interpolate linearly between closest ranks (NumPy's default).
 */
import { mulberry32 } from '../runtime/feeds.js';

export interface LatencyStats {
  readonly runs: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  readonly stdev: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of ascending values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const at = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export function ascending(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** The median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  return quantile(ascending(values), 0.5);
}

export function summarize(samples: readonly number[]): LatencyStats {
  const sorted = ascending(samples);
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = n ? sum / n : NaN;
  let squares = 0;
  for (const v of sorted) squares += (v - mean) ** 2;
  return {
    runs: n, mean, stdev: n > 1 ? Math.sqrt(squares / (n - 1)) : 0,
    min: sorted[0] ?? NaN, p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted[n - 1] ?? NaN,
  };
}

/** A ratio with the interval that holds its middle 80 %. */
export interface RatioEstimate {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly seed?: number;
}

/**
 * Speedup of `model` over `baseline` from paired runs: median(baseline) / median(model), > 1 when the
 * model is faster. The interval is p10–p90 of the same ratio over bootstrap resamples of whole pairs
 * (a pair ran under the same machine conditions, so pairs are resampled together).
 */
export function speedup(model: readonly number[], baseline: readonly number[], options: BootstrapOptions = {}): RatioEstimate {
  const n = Math.min(model.length, baseline.length);
  const value = quantile(ascending(baseline.slice(0, n)), 0.5) / quantile(ascending(model.slice(0, n)), 0.5);
  const resamples = options.resamples ?? 1000;
  const rand = mulberry32(options.seed ?? 0);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const ratios = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rand() * n);
      a[i] = model[k]!;
      b[i] = baseline[k]!;
    }
    ratios[r] = quantile(b.sort(), 0.5) / quantile(a.sort(), 0.5);
  }
  ratios.sort();
  return { value, low: quantile(ratios, 0.1), high: quantile(ratios, 0.9) };
}

/** p10, p50 and p90 of the per-pair ratios baseline[i] / model[i]. */
export function pairRatios(model: readonly number[], baseline: readonly number[]): { readonly p10: number; readonly p50: number; readonly p90: number } {
  const n = Math.min(model.length, baseline.length);
  const sorted = ascending(Array.from({ length: n }, (_, i) => baseline[i]! / model[i]!));
  return { p10: quantile(sorted, 0.1), p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) };
}
