/**
 * The latency comparison of a run: the output against the original, one shape, runs interleaved (the
 * benchmark of `llmopt bench` with a baseline, without decoding or data).
 */
import { runBench } from '../bench/run.js';
import type { LatencyStats, RatioEstimate } from '../bench/stats.js';
import type { Target } from '../pipeline/pass.js';
import type { RunBench } from './config.js';

export interface RunLatency {
  readonly ep: Target;
  readonly batch: number;
  readonly seq: number;
  readonly runs: number;
  readonly original: LatencyStats;
  readonly output: LatencyStats;
  /** median(original) / median(output), with its bootstrap interval. */
  readonly speedup: RatioEstimate;
}

export async function benchPair(original: string, output: string, settings: RunBench, target: Target, seed: number, progress: (m: string) => void): Promise<RunLatency> {
  const ep = settings.ep ?? target;
  const result = await runBench({
    model: output, baseline: original, ep, threads: settings.threads,
    warmup: settings.warmup, runs: settings.runs, batch: [settings.batch], seq: [settings.seq],
    newTokens: 0, cache: false, isolate: false, seed,
  }, progress);
  const row = result.latency[0]!;
  const { samples: _a, ...out } = row.model;
  const { samples: _b, ...base } = row.baseline!;
  return { ep, batch: row.batch, seq: row.seq, runs: settings.runs, original: base, output: out, speedup: row.speedup! };
}
