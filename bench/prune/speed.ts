/**
 * Speed of structured pruning: a dense model and the same model with a fraction of every block's FFN
 * channels removed (ranked by weight norms, no calibration), timed interleaved in one process at batch 1.
 */
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import { Session } from '../../src/runtime/session.js';
import type { Feeds } from '../../src/runtime/tensors.js';
import { makeFeeds } from '../../src/bench/feeds.js';
import { describeIo } from '../../src/bench/model-io.js';
import { timeInterleaved } from '../../src/bench/latency.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { getPass } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { countParameters } from '../../src/analysis/parameters.js';
import { abRatio, type AbRatio } from './ab.js';

export interface SpeedSettings {
  readonly tokens: number;
  readonly runs: number;
  readonly threads: number;
  readonly ffnRatio: number;
}

export interface SpeedResult extends AbRatio {
  readonly name: string;
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  readonly passMs: number;
}

/** The model with `ffnRatio` of every block's FFN channels removed, by weight norms. */
export async function pruneFfn(dense: Model, ffnRatio: number): Promise<{ model: Model; ms: number }> {
  const model = cloneModel(dense);
  const pass = getPass('prune-structured');
  const t0 = performance.now();
  const [step] = await runSteps(model, [{ pass, options: pass.options.parse({ ffnRatio, importance: 'norm' }) }], quietContext());
  if (!step?.modified) throw new Error('prune-structured removed nothing: no prunable FFN found');
  return { model, ms: performance.now() - t0 };
}

/** Batch-1 inputs of `tokens` tokens: seeded ids below the vocabulary, masks of ones (bench/feeds by role). */
export function tokenFeeds(model: Model, tokens: number, seed = 1): Feeds {
  return makeFeeds(describeIo(model), { batch: 1, seq: tokens }, { seed });
}

export async function measurePrunedSpeed(name: string, dense: Model, s: SpeedSettings): Promise<SpeedResult> {
  const pruned = await pruneFfn(dense, s.ffnRatio);
  const sessions = [await Session.fromModel(dense, { threads: s.threads }), await Session.fromModel(pruned.model, { threads: s.threads })];
  try {
    const feeds = tokenFeeds(dense, s.tokens);
    const times = await timeInterleaved(sessions.map((session) => ({ session, feeds })), { warmup: 3, runs: s.runs });
    return {
      name, paramsBefore: countParameters(dense).total, paramsAfter: countParameters(pruned.model).total, passMs: pruned.ms,
      ...abRatio(times[0]!, times[1]!),
    };
  } finally {
    await Promise.all(sessions.map((x) => x.release()));
  }
}
