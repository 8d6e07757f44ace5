/** Legalize-and-judge helpers: run a legalize pass, check the target again, compare outputs on the CPU provider. */
import assert from 'node:assert/strict';
import type { z } from 'zod';
import type { Model } from '../../src/ir/model.js';
import type { Pass, PassResult } from '../../src/pipeline/pass.js';
import type { Target } from '../../src/pipeline/pass.js';
import { checkModel, countFindings } from '../../src/targets/check.js';
import { runModel, type SessionOptions } from '../../src/runtime/session.js';
import { randomFeeds } from '../../src/runtime/feeds.js';
import { compareOutputs, type Difference } from '../../src/runtime/compare.js';
import type { Feeds, HostTensor } from '../../src/runtime/tensors.js';
import { applyPass } from '../helpers/model.js';
import { getPass } from '../../src/pipeline/registry.js';

/**
 * Graph optimizations off: the outputs show what the graph means, not onnxruntime's CPU fusions (which run
 * Q/DQ MatMuls with int8 activations at the default level).
 */
export const SEMANTIC: SessionOptions = { optimization: 'disabled' };

export interface Legalized {
  readonly after: Model;
  readonly result: PassResult;
}

export async function legalize(target: Target, model: Model, options: Record<string, unknown> = {}): Promise<Legalized> {
  const pass = getPass(`legalize-${target}`) as Pass<z.ZodType>;
  return applyPass(pass, model, options);
}

export function assertClean(model: Model, target: Target): void {
  const findings = checkModel(model, target);
  const errors = findings.filter((f) => f.severity === 'error');
  assert.equal(countFindings(findings).errors, 0, `errors left on ${target}: ${errors.map((f) => `${f.rule} ${f.node}: ${f.message}`).join('; ')}`);
}

export async function differences(before: Model, after: Model, feeds: Feeds = randomFeeds(before, { defaultDim: 3 }), session: SessionOptions = SEMANTIC): Promise<{ diffs: Difference[]; scale: number }> {
  const a = await runModel(before, feeds, session);
  const b = await runModel(after, feeds, session);
  let scale = 0;
  for (const t of Object.values(a)) for (const v of Array.from(t.data as ArrayLike<number>)) scale = Math.max(scale, Math.abs(Number(v)));
  return { diffs: compareOutputs(a, b), scale };
}

/** Every output within `atol` (absolute). */
export async function assertWithin(before: Model, after: Model, atol: number, feeds?: Feeds): Promise<number> {
  const { diffs } = await differences(before, after, feeds);
  const worst = Math.max(0, ...diffs.map((d) => d.maxAbs));
  for (const d of diffs) {
    assert.ok(d.sameShape, `output '${d.name}': shape or type differs`);
    assert.ok(d.maxAbs <= atol, `output '${d.name}': max abs diff ${d.maxAbs} > ${atol}`);
  }
  return worst;
}

/** Every output within `rel` of the largest output magnitude, and cosine at least `cosine`. */
export async function assertClose(before: Model, after: Model, rel: number, cosine: number, feeds?: Feeds): Promise<number> {
  const { diffs, scale } = await differences(before, after, feeds);
  const worst = Math.max(0, ...diffs.map((d) => d.maxAbs)) / Math.max(scale, 1e-12);
  for (const d of diffs) {
    assert.ok(d.sameShape, `output '${d.name}': shape or type differs`);
    assert.ok(d.maxAbs <= rel * scale, `output '${d.name}': max abs diff ${d.maxAbs} > ${rel} x ${scale}`);
    assert.ok(d.cosine >= cosine, `output '${d.name}': cosine ${d.cosine} < ${cosine}`);
  }
  return worst;
}

/** Qualified op types of the main graph, as a set. */
export function opsOf(model: Model): Set<string> {
  return new Set(model.graph.nodes.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType)));
}

export function hasMicrosoftOps(model: Model): boolean {
  return [...model.graph.allNodes()].some((n) => n.domain === 'com.microsoft');
}

export function tensor(dtype: number, dims: number[], data: HostTensor['data']): HostTensor {
  return { dtype, dims, data };
}
