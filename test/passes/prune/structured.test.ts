import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pruneStructured from '../../../passes/prune/prune-structured.js';
import { buildBert, buildGpt2, buildLlama } from '../../../fixtures/build/index.js';
import type { Model } from '../../../src/ir/model.js';
import { detectTransformer } from '../../../src/analysis/transformer.js';
import { weightSlot, logicalWeight, storeWeight } from '../../../passes/prune/structured/weights.js';
import { applyPass, assertSameOutputs } from '../../helpers/model.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import { runModel } from '../../../src/runtime/session.js';
import { ConfigError } from '../../../src/errors.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { runSteps } from '../../../src/pipeline/manager.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { loadModel } from '../../../src/io/load.js';
import { readDataset, type Dataset } from '../../../src/data/dataset.js';
import { readNpy } from '../../../src/runtime/npy.js';
import { evaluateQuality } from '../../../src/eval/evaluate.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';

/** The goal for 25 % of the FFN channels (fp32 3.2953); measured 3.589. */
const LLAMA_FFN_PERPLEXITY = 3.6;
/** Measured 9.35; the bound leaves room for other onnxruntime builds. */
const LLAMA_KV_GROUP_PERPLEXITY = 10;

const fixtures: readonly [string, () => Model][] = [
  ['llama (GQA, torchscript)', () => buildLlama({ style: 'torchscript' })],
  ['llama (GQA, dynamo)', () => buildLlama({ style: 'dynamo' })],
  ['gpt2 (Gemm, fused QKV)', () => buildGpt2({ style: 'torchscript' })],
  ['gpt2 (dynamo)', () => buildGpt2({ style: 'dynamo' })],
  ['bert', () => buildBert({ style: 'torchscript' })],
];

/** Runs at two sequence lengths; output shapes match the dense model's. */
async function runsLikeDense(before: Model, after: Model): Promise<void> {
  for (const sequence of [5, 11]) {
    const feeds = randomFeeds(before, { seed: sequence, dims: { batch: 2, sequence } });
    const [a, b] = [await runModel(before, feeds), await runModel(after, feeds)];
    for (const [name, t] of Object.entries(a)) assert.deepEqual(b[name]!.dims, t.dims, `${name} at sequence ${sequence}`);
  }
}

/** Zeroes rows [from, to) of a block's consuming projection: those inputs contribute nothing. */
function killInputs(model: Model, block: number, role: 'down' | 'o', from: number, to: number): void {
  const l = detectTransformer(model).blocks[block]!.linears.find((x) => x.role === role)!.linear;
  const slot = weightSlot(l);
  const w = logicalWeight(slot);
  w.fill(0, from * slot.n, to * slot.n);
  storeWeight(slot, w, slot.k, slot.n);
}

describe('prune-structured on fixtures', () => {
  for (const [label, build] of fixtures) {
    it(`${label}: FFN channels, heads and a block; shapes and runs`, async () => {
      const model = build();
      const gqa = label.startsWith('llama');
      for (const options of [{ ffnRatio: 0.25 }, { heads: gqa ? 2 : 1 }, { layers: [1] }]) {
        const { after, result } = await applyPass(pruneStructured, model, options);
        assert.ok(result.modified, JSON.stringify(options));
        assert.ok(result.stats.paramsAfter! < result.stats.paramsBefore!, JSON.stringify(result.stats));
        await runsLikeDense(model, after);
      }
    });
  }

  const fusedForms: readonly [string, () => Model, number][] = [
    ['llama (packed GroupQueryAttention)', () => buildLlama({ style: 'torchscript' }), 2],
    ['gpt2 (com.microsoft Attention, causal)', () => buildGpt2({ style: 'torchscript' }), 1],
    ['bert (com.microsoft Attention with its mask)', () => buildBert({ style: 'torchscript' }), 1],
  ];
  for (const [label, build, heads] of fusedForms) {
    it(`heads and FFN channels of a fused ${label}: the same model as pruning first and fusing after`, async () => {
      const fuse = async (m: Model) => { const copy = cloneModel(m); await runSteps(copy, resolveSteps(['preset:fuse']), quietContext()); return copy; };
      const dense = build();
      const fused = await fuse(dense);
      for (const [options, stat] of [[{ heads }, 'headsRemoved'], [{ ffnRatio: 0.25 }, 'channelsRemoved']] as const) {
        const { after: fusedThenPruned, result } = await applyPass(pruneStructured, fused, options);
        const prunedFirst = await applyPass(pruneStructured, dense, options);
        assert.ok(result.stats[stat]! > 0, JSON.stringify(result.stats));
        assert.equal(result.stats[stat], prunedFirst.result.stats[stat], JSON.stringify(result.stats));
        const prunedThenFused = await fuse(prunedFirst.after);
        await assertSameOutputs(prunedThenFused, fusedThenPruned, { atol: 1e-4, dims: { batch: 2, sequence: 7 } });
      }
    });
  }

  it('heads no block can give up: a warning with the reason, the model unchanged', async () => {
    const model = buildBert({ style: 'torchscript' });
    await runSteps(model, resolveSteps(['preset:fuse']), quietContext());
    // Unequal Q/K/V sizes in the packed weight: not the [Q | K | V] layout the cut understands.
    for (const n of model.graph.nodes) if (n.opType === 'Attention') n.setAttribute('qkv_hidden_sizes', { type: 'ints', value: [64, 32, 96] });
    const warnings: string[] = [];
    const result = await pruneStructured.run(model, pruneStructured.options.parse({ heads: 1 }), quietContext({ warn: (m) => warnings.push(m) }));
    assert.equal(result.modified, false);
    assert.match(warnings.join('\n'), /heads left alone in every block: .*--explain/);
  });

  it('removing nothing changes nothing', async () => {
    const model = buildLlama();
    const { after, result } = await applyPass(pruneStructured, model, { ffnRatio: 0, heads: 0 });
    assert.equal(result.modified, false);
    await assertSameOutputs(model, after, { atol: 0, dims: { batch: 1, sequence: 6 } });
  });

  it('removes a dead FFN channel first, with identical outputs', async () => {
    const model = buildLlama({ style: 'dynamo' });
    const width = 128;
    for (const b of [0, 1]) killInputs(model, b, 'down', 7, 7 + width / 4);
    const { after, result } = await applyPass(pruneStructured, model, { ffnRatio: 0.25 });
    assert.equal(result.stats.block0Channels, width * 0.75);
    await assertSameOutputs(model, after, { atol: 1e-5, dims: { batch: 2, sequence: 7 } });
  });

  it('removes dead heads (a whole GQA group; a fused QKV head), with identical outputs', async () => {
    const llama = buildLlama();
    // 4 heads of 16, 2 groups: group 1 = query heads 2 and 3 = o rows 32..63.
    killInputs(llama, 0, 'o', 32, 64);
    killInputs(llama, 1, 'o', 32, 64);
    const l = await applyPass(pruneStructured, llama, { heads: 2, importance: 'norm' });
    assert.equal(l.result.stats.block0Heads, 2);
    await assertSameOutputs(llama, l.after, { atol: 1e-5, dims: { batch: 2, sequence: 7 } });
    const gpt2 = buildGpt2();
    killInputs(gpt2, 0, 'o', 16, 32);
    killInputs(gpt2, 1, 'o', 48, 64);
    const g = await applyPass(pruneStructured, gpt2, { heads: 1 });
    assert.equal(g.result.stats.splits, 2);
    await assertSameOutputs(gpt2, g.after, { atol: 1e-5, dims: { batch: 2, sequence: 7 } });
  });

  it('blocks that do not exist, or every block: a ConfigError', async () => {
    const model = buildLlama();
    const blocks = detectTransformer(model).blocks.length;
    const cases: [number[], RegExp][] = [
      [[blocks], new RegExp(`layers ${blocks}: the model has ${blocks} blocks`)],
      [[...Array(blocks).keys()], new RegExp(`would remove all ${blocks} blocks`)],
    ];
    for (const [layers, message] of cases) {
      const copy = cloneModel(model);
      await assert.rejects(async () => pruneStructured.run(copy, pruneStructured.options.parse({ layers }), quietContext()), (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, message);
        return true;
      });
      assert.equal(copy.graph.nodes.length, model.graph.nodes.length, 'nothing was changed');
    }
  });

  it('heads that do not divide into key/value groups: a ConfigError', async () => {
    const model = buildLlama();
    await assert.rejects(async () => pruneStructured.run(cloneModel(model), pruneStructured.options.parse({ heads: 1 }), quietContext()), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /whole key\/value groups of 2/);
      return true;
    });
  });
});

/** Random token rows of the model's inputs, as calibration data. */
function randomCalibration(model: Model): Dataset {
  const feeds = randomFeeds(model, { seed: 3, dims: { batch: 8, sequence: 7 } });
  return { arrays: new Map(Object.entries(feeds)), rows: 8, source: 'random' };
}

describe('prune-structured, sequential FFN refit', () => {
  it('refits every block against the dense model; shapes and runs', async () => {
    const model = buildLlama({ style: 'dynamo' });
    const after = cloneModel(model);
    const options = pruneStructured.options.parse({ ffnRatio: 0.25, sequential: true, target: 'residual' });
    const result = await pruneStructured.run(after, options, quietContext({ calibration: randomCalibration(model) }));
    assert.equal(result.stats.refit, detectTransformer(model).blocks.length);
    await runsLikeDense(model, after);
  });

  it('removes dead channels with identical outputs', async () => {
    const model = buildLlama({ style: 'dynamo' });
    for (const b of [0, 1]) killInputs(model, b, 'down', 7, 7 + 32);
    const after = cloneModel(model);
    const options = pruneStructured.options.parse({ ffnRatio: 0.25, sequential: true });
    await pruneStructured.run(after, options, quietContext({ calibration: randomCalibration(model) }));
    await assertSameOutputs(model, after, { atol: 1e-4, dims: { batch: 2, sequence: 7 } });
  });
});

describe('prune-structured on the shared models', { skip: skipWithoutShared }, () => {
  async function pruned(file: string, options: Record<string, unknown>): Promise<{ model: Model; stats: Readonly<Record<string, number>> }> {
    const model = loadModel(sharedFile(file));
    const calibration = readDataset(sharedFile('calib_ids.npy'), model);
    const result = await pruneStructured.run(model, pruneStructured.options.parse(options), quietContext({ calibration }));
    return { model, stats: result.stats };
  }

  async function perplexity(model: Model): Promise<number> {
    const q = await evaluateQuality(model, readNpy(sharedFile('eval_ids.npy')));
    assert.equal(q.kind, 'perplexity');
    return q.kind === 'perplexity' ? q.perplexity : NaN;
  }

  it('llama-tiny: 25 % of FFN channels (global budget, bias and ridge from held-out rows, every calibration row): perplexity ≤ 3.6, parameters −15 %', async () => {
    const { model, stats } = await pruned('llama-tiny.onnx', { ffnRatio: 0.25, calibrationRows: 64 });
    assert.ok(stats.paramsAfter! <= 0.85 * stats.paramsBefore!, JSON.stringify(stats));
    const ppl = await perplexity(model);
    assert.ok(ppl <= LLAMA_FFN_PERPLEXITY, `perplexity ${ppl}`);
  });

  it('llama-tiny: one of the two key/value groups of every block (4 of 8 query heads)', async () => {
    const { model, stats } = await pruned('llama-tiny.onnx', { heads: 4 });
    assert.equal(stats.headsRemoved, 16);
    const ppl = await perplexity(model);
    assert.ok(ppl <= LLAMA_KV_GROUP_PERPLEXITY, `perplexity ${ppl}`);
  });

  it('bert-tiny: 2 of 4 heads per block keep MLM accuracy ≥ 0.78', async () => {
    const { model } = await pruned('bert-tiny.onnx', { heads: 2 });
    const q = await evaluateQuality(model, readNpy(sharedFile('mlm_eval_inputs.npy')), readNpy(sharedFile('mlm_eval_labels.npy')));
    assert.ok(q.kind === 'mlm' && q.accuracy >= 0.78, JSON.stringify(q));
  });
});
