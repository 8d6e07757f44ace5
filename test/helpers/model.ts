/** Test helpers: run passes on IR models and compare onnxruntime outputs before and after. */
import assert from 'node:assert/strict';
import type { z } from 'zod';
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import { verifyModel } from '../../src/ir/verify.js';
import { quietContext, type Pass, type PassResult } from '../../src/pipeline/pass.js';
import { runModel, type SessionOptions } from '../../src/runtime/session.js';
import { randomFeeds, type FeedOptions } from '../../src/runtime/feeds.js';
import { compareOutputs } from '../../src/runtime/compare.js';
import type { Feeds } from '../../src/runtime/tensors.js';

export { cloneModel };

/** Runs a pass on a copy; verifies the IR afterwards. */
export async function applyPass<O extends z.ZodType>(pass: Pass<O>, model: Model, options: Partial<z.input<O>> = {}): Promise<{ after: Model; result: PassResult }> {
  const after = cloneModel(model);
  const parsed = pass.options.parse(options);
  const result = await pass.run(after, parsed, quietContext());
  verifyModel(after, pass.name);
  return { after, result };
}

export interface SameOutputsOptions extends FeedOptions {
  readonly atol: number;
  readonly feeds?: Feeds;
  readonly session?: SessionOptions;
}

/** Runs both models in onnxruntime-node on the same inputs; asserts every output within `atol`. */
export async function assertSameOutputs(before: Model, after: Model, options: SameOutputsOptions): Promise<void> {
  const feeds = options.feeds ?? randomFeeds(before, options);
  const a = await runModel(before, feeds, options.session);
  const b = await runModel(after, feeds, options.session);
  for (const d of compareOutputs(a, b)) {
    assert.ok(d.sameShape, `output '${d.name}': shape or type differs`);
    assert.ok(d.maxAbs <= options.atol, `output '${d.name}': max abs diff ${d.maxAbs} > ${options.atol}`);
  }
}

export function opTypes(model: Model): string[] {
  return model.graph.nodes.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType));
}
