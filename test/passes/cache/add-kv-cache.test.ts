/** add-kv-cache: cached decoding gives the logits and tokens of decoding without a cache. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Model } from '../../../src/ir/model.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { loadModel } from '../../../src/io/load.js';
import { runSteps } from '../../../src/pipeline/manager.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { buildGpt2, buildLlama } from '../../../fixtures/build/index.js';
import addKvCache from '../../../passes/cache/add-kv-cache.js';
import quantizeWeightOnly from '../../../passes/quantize/quantize-weight-only.js';
import quantizeDynamic from '../../../passes/quantize/quantize-dynamic.js';
import { applyPass, opTypes } from '../../helpers/model.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { greedyCached, greedyPlain, lastRow, maxAbsDiff } from './decode.js';

/** Last-token logits, cached against uncached: fp32, different summation order. */
const ATOL = 1e-4;

async function fused(model: Model): Promise<Model> {
  const copy = cloneModel(model);
  await runSteps(copy, resolveSteps(['preset:fuse']), quietContext());
  return copy;
}

const prompt = (n: number, vocab: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + 11) % vocab);

/** Prefill P then one cached step against P+1 tokens at once; then greedy tokens with and without cache. */
async function assertCacheMatches(plain: Model, cached: Model, vocab: number, steps: number): Promise<void> {
  const p = prompt(12, vocab);
  const a = await greedyPlain(plain, p, steps);
  const b = await greedyCached(cached, p, steps);
  for (let i = 0; i < steps; i++) {
    const d = maxAbsDiff(lastRow(a.logits[i]!), lastRow(b.logits[i]!));
    assert.ok(d <= ATOL, `step ${i}: last-token logits differ by ${d}`);
  }
  assert.deepEqual(b.tokens, a.tokens);
}

const fixtures = [
  { name: 'llama fixture (GroupQueryAttention)', build: () => buildLlama({ kvHeads: 2 }), op: 'com.microsoft.GroupQueryAttention', vocab: 256 },
  { name: 'llama fixture with a padding mask (MultiHeadAttention + RotaryEmbedding)', build: () => buildLlama({ kvHeads: 2, attentionMask: true }), op: 'com.microsoft.MultiHeadAttention', vocab: 256 },
  { name: 'gpt2 fixture (Attention -> MultiHeadAttention)', build: () => buildGpt2({}), op: 'com.microsoft.MultiHeadAttention', vocab: 256 },
  { name: 'llama fixture quantized to 4 bits, then fused (MatMulNBits projections)', build: () => weightOnly(buildLlama({ kvHeads: 2 })), op: 'com.microsoft.GroupQueryAttention', vocab: 256 },
  { name: 'gpt2 fixture quantized to int8, then fused (MatMulIntegerToFloat projections)', build: () => dynamicInt8(buildGpt2({})), op: 'com.microsoft.MultiHeadAttention', vocab: 256 },
];

/** accuracy_level 0: the cached and uncached runs then round no int8 activations differently. */
async function weightOnly(model: Model): Promise<Model> {
  await quantizeWeightOnly.run(model, quantizeWeightOnly.options.parse({ accuracyLevel: 0 }), quietContext());
  return model;
}

async function dynamicInt8(model: Model): Promise<Model> {
  await quantizeDynamic.run(model, quantizeDynamic.options.parse({}), quietContext());
  return model;
}

describe('add-kv-cache', () => {
  for (const f of fixtures) {
    it(`${f.name}: same logits and 24 greedy tokens with the cache`, async () => {
      const plain = await fused(await f.build());
      const { after, result } = await applyPass(addKvCache, plain);
      assert.equal(result.modified, true);
      assert.ok(opTypes(after).includes(f.op));
      assert.ok(after.graph.inputs.some((v) => v.name === 'past_key_values.0.key'));
      assert.ok(after.graph.outputs.some((v) => v.name === 'present.0.value'));
      await assertCacheMatches(plain, after, f.vocab, 24);
      assert.equal((await applyPass(addKvCache, after)).result.modified, false);
    });
  }

  it('refuses an unfused model with a warning', async () => {
    const warnings: string[] = [];
    const model = buildLlama({ kvHeads: 2 });
    const after = cloneModel(model);
    const result = await addKvCache.run(after, addKvCache.options.parse({}), quietContext({ warn: (m) => warnings.push(m) }));
    assert.equal(result.modified, false);
    assert.match(warnings.join('\n'), /--preset fuse/);
    assert.equal(after.graph.nodes.length, model.graph.nodes.length);
    assert.equal(after.graph.inputs.length, model.graph.inputs.length);
  });
});

describe('add-kv-cache on the shared models', { skip: skipWithoutShared }, () => {
  for (const file of ['llama-tiny.onnx', 'gpt2-tiny.onnx']) {
    it(`${file}: same last-token logits and 64 greedy tokens with the cache`, async () => {
      const plain = await fused(loadModel(sharedFile(file)));
      const { after } = await applyPass(addKvCache, plain);
      await assertCacheMatches(plain, after, 256, 64);
    });
  }
});
