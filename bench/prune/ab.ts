/**
 * The figures of an interleaved A/B timing (src/bench/latency.ts): the speed ratio of the medians and the
 * spread of the per-round ratios.
 */
import { pairRatios, quantile, ascending, speedup, type RatioEstimate } from '../../src/bench/stats.js';

export interface AbRatio {
  readonly baselineMs: number;
  readonly modelMs: number;
  /** median(baseline) / median(model), > 1 when the model is faster, with a bootstrap p10-p90 interval. */
  readonly speedup: RatioEstimate;
  /** p10 and p90 of the per-round ratios. */
  readonly rounds: readonly [number, number];
  /** Fastest baseline round over fastest model round: the least disturbed by other work on the machine. */
  readonly best: number;
}

export function abRatio(baseline: readonly number[], model: readonly number[]): AbRatio {
  const pairs = pairRatios(model, baseline);
  return {
    baselineMs: quantile(ascending(baseline), 0.5), modelMs: quantile(ascending(model), 0.5),
    speedup: speedup(model, baseline), rounds: [pairs.p10, pairs.p90], best: Math.min(...baseline) / Math.min(...model),
  };
}
