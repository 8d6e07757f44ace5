/**
 * Speed of structured pruning: a dense model and the same model with a fraction of every block's FFN
 * channels removed (ranked by weight norms, no calibration), timed interleaved in one process at batch 1.
 */
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import { DType } from '../../src/ir/dtype.js';
import { Session } from '../../src/runtime/session.js';
import { mulberry32 } from '../../src/runtime/feeds.js';
import type { Feeds, HostTensor } from '../../src/runtime/tensors.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { getPass } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { countParameters } from '../../src/analysis/parameters.js';
import { abRatio, timeInterleaved, type AbRatio } from './ab.js';

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

/** Token ids (below 256, every vocabulary here is larger) for each int64 input; masks all ones. */
export function tokenFeeds(model: Model, tokens: number, seed = 1): Feeds {
  const random = mulberry32(seed);
  const feeds: Record<string, HostTensor> = {};
  for (const input of model.graph.inputs) {
    const mask = input.name.includes('mask');
    const data = BigInt64Array.from({ length: tokens }, () => (mask ? 1n : BigInt(Math.floor(random() * 256))));
    feeds[input.name] = { dtype: DType.INT64, dims: [1, tokens], data };
  }
  return feeds;
}

export async function measurePrunedSpeed(name: string, dense: Model, s: SpeedSettings): Promise<SpeedResult> {
  const pruned = await pruneFfn(dense, s.ffnRatio);
  const sessions = [await Session.fromModel(dense, { threads: s.threads }), await Session.fromModel(pruned.model, { threads: s.threads })];
  try {
    const { times } = await timeInterleaved(sessions, tokenFeeds(dense, s.tokens), s.runs);
    return {
      name, paramsBefore: countParameters(dense).total, paramsAfter: countParameters(pruned.model).total, passMs: pruned.ms,
      ...abRatio(times[0]!, times[1]!),
    };
  } finally {
    await Promise.all(sessions.map((x) => x.release()));
  }
}
