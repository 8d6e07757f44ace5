import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocateRemovals } from '../../../passes/prune/structured/allocation.js';
import { heldOutRidge, RIDGE_CANDIDATES } from '../../../passes/prune/structured/ridge.js';
import pruneStructured from '../../../passes/prune/prune-structured.js';
import { buildLlama } from '../../../fixtures/build/index.js';
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { detectTransformer } from '../../../src/analysis/transformer.js';
import { mulberry32, randomFeeds } from '../../../src/runtime/feeds.js';
import { runModel } from '../../../src/runtime/session.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { cloneModel } from '../../../src/ir/clone.js';

describe('FFN budget across blocks', () => {
  const table: readonly [string, Parameters<typeof allocateRemovals>, number[]][] = [
    ['the cheaper block goes first', [[{ costs: [1, 2, 3, 4], scale: 1, limit: 4 }, { costs: [10, 20, 30, 40], scale: 1, limit: 4 }], 4], [4, 0]],
    ['costs are divided by the scale', [[{ costs: [1, 2, 3, 4], scale: 1, limit: 4 }, { costs: [10, 20, 30, 40], scale: 10, limit: 4 }], 4], [2, 2]],
    ['a block stops at its limit', [[{ costs: [1, 1, 1, 1], scale: 1, limit: 1 }, { costs: [5, 6, 7, 8], scale: 1, limit: 4 }], 3], [1, 2]],
    ['a cheap step behind an expensive one waits for its turn', [[{ costs: [5, 0, 0], scale: 1, limit: 3 }, { costs: [1, 2, 3], scale: 1, limit: 3 }], 3], [0, 3]],
    ['a budget above every limit stops at the limits', [[{ costs: [1, 2], scale: 1, limit: 2 }, { costs: [1], scale: 1, limit: 1 }], 10], [2, 1]],
  ];
  for (const [label, args, expected] of table) it(label, () => assert.deepEqual(allocateRemovals(...args), expected));
});

/** Mean XᵀX of `rows` random rows of K correlated values. */
function gram(rows: number, k: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const g = new Float64Array(k * k);
  const x = new Float64Array(k);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < k; i++) x[i] = r() - 0.5 + (i > 0 ? 0.8 * x[i - 1]! : 0);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) g[i * k + j]! += (x[i]! * x[j]!) / rows;
  }
  return g;
}

describe('ridge from held-out rows', () => {
  const [k, n] = [8, 3];
  const r = mulberry32(7);
  const w = Float32Array.from({ length: k * n }, () => r() - 0.5);
  const keep = [0, 2, 3, 5, 6, 7];

  it('on the rows it was fit on, the least damping wins and the error grows with the ridge', () => {
    const g = gram(500, k, 1);
    const choice = heldOutRidge(w, k, n, { fit: g, held: g }, keep);
    assert.equal(choice.ridge, RIDGE_CANDIDATES[0]);
    for (let i = 1; i < choice.errors.length; i++) assert.ok(choice.errors[i]! >= choice.errors[i - 1]! - 1e-12, `${choice.errors}`);
  });

  it('fit on fewer rows than inputs, a larger ridge wins on held-out rows', () => {
    const choice = heldOutRidge(w, k, n, { fit: gram(5, k, 2), held: gram(2000, k, 3) }, keep);
    assert.ok(choice.ridge > RIDGE_CANDIDATES[0]!, `${choice.ridge}: ${choice.errors}`);
  });
});

/** Random token rows as calibration data: 24 rows in batches of 4, so every fourth batch can be held out. */
function calibration(model: Model): Dataset {
  const feeds = randomFeeds(model, { seed: 5, dims: { batch: 24, sequence: 9 } });
  return { arrays: new Map(Object.entries(feeds)), rows: 24, source: 'random' };
}

async function prune(model: Model, options: Record<string, unknown>): Promise<{ after: Model; stats: Readonly<Record<string, number>> }> {
  const after = cloneModel(model);
  const result = await pruneStructured.run(after, pruneStructured.options.parse(options), quietContext({ calibration: calibration(model) }));
  return { after, stats: result.stats };
}

describe('prune-structured: global FFN budget, bias refit, ridge search', () => {
  const model = buildLlama({ style: 'dynamo' });
  const blocks = detectTransformer(model).blocks;
  const width = blocks[0]!.mlp!.down[0]!.k!;

  it('global: the uniform total, spread over blocks, each above the floor; uniform: the same in each', async () => {
    const global = await prune(model, { ffnRatio: 0.25, ffnFloor: 0.6 });
    const kept = blocks.map((b) => global.stats[`block${b.index}Channels`]!);
    assert.equal(global.stats.channelsRemoved, blocks.length * Math.round(0.25 * width));
    for (const c of kept) assert.ok(c >= Math.ceil(0.6 * width) && c <= width, `${kept}`);
    const uniform = await prune(model, { ffnRatio: 0.25, allocation: 'uniform' });
    for (const b of blocks) assert.equal(uniform.stats[`block${b.index}Channels`], width - Math.round(0.25 * width));
  });

  it('the bias refit adds one Add per block and the model runs at any sequence length', async () => {
    const adds = (m: Model) => m.graph.nodes.filter((x) => x.opType === 'Add').length;
    const withBias = await prune(model, { ffnRatio: 0.25 });
    assert.equal(withBias.stats.biases, blocks.length);
    assert.equal(adds(withBias.after), adds(model) + blocks.length);
    const without = await prune(model, { ffnRatio: 0.25, bias: false });
    assert.equal(without.stats.biases, 0);
    assert.equal(adds(without.after), adds(model));
    for (const sequence of [4, 13]) {
      const feeds = randomFeeds(model, { seed: sequence, dims: { batch: 2, sequence } });
      const [a, b] = [await runModel(model, feeds), await runModel(withBias.after, feeds)];
      for (const [name, t] of Object.entries(a)) assert.deepEqual(b[name]!.dims, t.dims);
    }
  });

  it('ridgeSearch: each block is refit with a candidate ridge, and heads as well', async () => {
    const { after, stats } = await prune(model, { ffnRatio: 0.25, heads: 2, ridgeSearch: true });
    assert.equal(stats.refit, 2 * blocks.length);
    const feeds = randomFeeds(model, { seed: 1, dims: { batch: 1, sequence: 6 } });
    for (const t of Object.values(await runModel(after, feeds))) assert.ok((t.data as Float32Array).every(Number.isFinite));
  });
});
