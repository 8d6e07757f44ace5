/** Before/after output check on synthetic inputs: the same feeds through both models in onnxruntime. */
import type { Model } from '../ir/model.js';
import { randomFeeds, type FeedOptions } from './feeds.js';
import { runModel } from './session.js';
import { compareOutputs } from './compare.js';

export interface OutputCheck {
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly cosine: number;
  readonly outputs: number;
}

export async function compareWithOriginal(original: Model, optimized: Model, options: FeedOptions = {}): Promise<OutputCheck> {
  const feeds = randomFeeds(original, { defaultDim: 8, ...options });
  const a = await runModel(original, feeds);
  const b = await runModel(optimized, feeds);
  const diffs = compareOutputs(a, b);
  return {
    maxAbs: Math.max(0, ...diffs.map((d) => d.maxAbs)),
    maxRel: Math.max(0, ...diffs.map((d) => d.maxRel)),
    cosine: Math.min(1, ...diffs.map((d) => d.cosine)),
    outputs: diffs.length,
  };
}
