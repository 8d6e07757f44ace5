/**
 * Timed runs of one or more sessions on fixed feeds. With several sessions the runs are interleaved:
 * every iteration runs each session once, in the order of runOrder, so slow phases of a noisy machine
 * hit all of them alike and their timings can be compared pair by pair.
 */
import type { Session } from '../runtime/session.js';
import type { Feeds } from '../runtime/tensors.js';
import { runOrder } from './schedule.js';

export interface TimedTarget {
  readonly session: Session;
  readonly feeds: Feeds;
}

export interface RunBudget {
  /** Untimed iterations first. */
  readonly warmup: number;
  /** Timed iterations; or, when absent, as many as fit in `seconds`. */
  readonly runs?: number;
  readonly seconds?: number;
}

/** Fewest timed iterations of a time budget, so that percentiles mean something even on a slow model. */
export const MIN_RUNS = 3;

/** Milliseconds of each timed run, per target (samples[t][i] is iteration i of target t). */
export async function timeInterleaved(targets: readonly TimedTarget[], budget: RunBudget, progress?: (done: number) => void): Promise<number[][]> {
  for (let i = 0; i < budget.warmup; i++) {
    for (const t of runOrder(i, targets.length)) await targets[t]!.session.run(targets[t]!.feeds);
  }
  const samples: number[][] = targets.map(() => []);
  const deadline = performance.now() + (budget.seconds ?? 0) * 1000;
  const more = (i: number) => (budget.runs !== undefined ? i < budget.runs : i < MIN_RUNS || performance.now() < deadline);
  for (let i = 0; more(i); i++) {
    for (const t of runOrder(i, targets.length)) {
      const { session, feeds } = targets[t]!;
      const t0 = performance.now();
      await session.run(feeds);
      samples[t]!.push(performance.now() - t0);
    }
    progress?.(i + 1);
  }
  return samples;
}
