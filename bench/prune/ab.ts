/**
 * Interleaved A/B timing: one run of each session per round, in turn, so that machine noise (other
 * processes on a shared CPU) falls on both alike; then the speed ratio of the medians and the spread of the
 * per-round ratios.
 */
import type { Session } from '../../src/runtime/session.js';
import type { Feeds } from '../../src/runtime/tensors.js';
import { pairRatios, quantile, ascending, speedup, type RatioEstimate } from '../../src/bench/stats.js';

export interface AbTimes {
  /** Milliseconds per round, per session, warm-up rounds left out. */
  readonly times: readonly (readonly number[])[];
}

export async function timeInterleaved(sessions: readonly Session[], feeds: Feeds, runs: number, warmup = 3): Promise<AbTimes> {
  const times = sessions.map(() => [] as number[]);
  for (let round = -warmup; round < runs; round++) {
    for (const [i, session] of sessions.entries()) {
      const t0 = performance.now();
      await session.run(feeds);
      if (round >= 0) times[i]!.push(performance.now() - t0);
    }
  }
  return { times };
}

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
