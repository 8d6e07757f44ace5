/** The fusion benchmark's timing bound keeps every matrix product and attention kernel and drops the rest. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { resolveSteps } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { Session } from '../../src/runtime/session.js';
import { randomFeeds } from '../../src/runtime/feeds.js';
import { buildBert, buildGpt2, buildLlama } from '../../fixtures/build/index.js';
import { elementwiseBound } from '../../bench/lib/elementwise-bound.js';
import { opTypes } from '../helpers/model.js';

const KEPT = /^(MatMul|Gemm|Attention|MultiHeadAttention|GroupQueryAttention)$/;
const DROPPED = /Normalization|Gelu|^Sigmoid$/;

async function fused(model: Model): Promise<Model> {
  const copy = cloneModel(model);
  await runSteps(copy, resolveSteps(['preset:fuse']), quietContext());
  return copy;
}

const count = (model: Model, re: RegExp) => opTypes(model).filter((op) => re.test(op)).length;

describe('elementwise bound of a fused model', () => {
  for (const [name, build] of [['bert', buildBert], ['gpt2', buildGpt2], ['llama', buildLlama]] as const) {
    it(`${name}: products and attention kept, norms and activations gone, still runs`, async () => {
      const model = await fused(build());
      const { model: bound, skipped } = await elementwiseBound(model);
      assert.equal(count(bound, KEPT), count(model, KEPT), 'every matrix product and attention node stays');
      assert.ok(count(model, DROPPED) > 0);
      assert.equal(count(bound, DROPPED), 0, 'no normalisation or activation is left');
      assert.ok(skipped >= count(model, DROPPED), `${skipped} nodes skipped`);
      assert.equal(opTypes(model).length, opTypes(bound).length + skipped, 'only the skipped nodes are gone');
      const session = await Session.fromModel(bound, { threads: 1 });
      try {
        const outputs = await session.run(randomFeeds(bound, { defaultDim: 6 }));
        assert.deepEqual(Object.keys(outputs), model.graph.outputs.map((v) => v.name));
      } finally {
        await session.release();
      }
      assert.notEqual(count(model, KEPT), 0);
    });
  }
});
