import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import mergeProjections from '../../../passes/fusion/merge-projections.js';
import { applyPass, assertSameOutputs, cloneModel, opTypes } from '../../helpers/model.js';
import { newModel, randomWeight } from '../../helpers/tiny.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { tokenFeeds } from './graphs.js';
import { buildBert, buildGpt2, buildLlama, MODELS_DIR, STYLES } from '../../../fixtures/build/index.js';
import { loadModel } from '../../../src/io/load.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import type { Model } from '../../../src/ir/model.js';
import type { Value } from '../../../src/ir/value.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { runSteps } from '../../../src/pipeline/manager.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';

/** Same kernels on the same data, only the columns laid side by side. */
const ATOL = 1e-5;
/** float16 products may round differently in a wider MatMul: two float16 units at |y| < 2. */
const HALF_ATOL = 2e-3;
const K = 16;

const count = (m: Model, op: string) => opTypes(m).filter((t) => t === op).length;

/** Runs the pass, checks outputs within ATOL, and that a second run changes nothing. */
async function merged(before: Model, feeds: ReturnType<typeof tokenFeeds> | undefined, atol = ATOL) {
  const { after, result } = await applyPass(mergeProjections, before);
  await assertSameOutputs(before, after, { atol, defaultDim: 5, ...(feeds ? { feeds } : {}) });
  assert.equal((await applyPass(mergeProjections, after)).result.modified, false, 'second run changed the model');
  return { after, stats: result.stats };
}

interface Sketch {
  readonly model: Model;
  readonly x: Value;
  node(opType: string, inputs: (Value | null)[], attrs?: Record<string, number>): Value;
  out(v: Value): void;
  weight(dims: number[], seed: number): Value;
}

/** x [batch, K] float32 and helpers to hang projections off it. */
function sketch(opset = 17, xShape: readonly (string | number)[] | null = ['batch', K]): Sketch {
  const model = newModel(opset);
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, ...(xShape ? { shape: xShape } : {}) });
  return {
    model, x,
    node: (opType, inputs, attrs = {}) => g.addNode({
      opType, inputs, attributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v }])),
    }).output(0),
    out: (v) => { v.type = { elemType: DType.FLOAT }; g.outputs.push(v); },
    weight: (dims, seed) => randomWeight(model, `w${seed}`, dims, seed),
  };
}

/** Gemm(x, W1ᵀ, b1), MatMul(x, W2) + b2 with the bias first, a plain MatMul(x, W3) on a Constant node. */
function mixedSiblings(opset = 17): Model {
  const s = sketch(opset);
  const g = s.model.graph;
  s.out(s.node('Gemm', [s.x, s.weight([8, K], 1), s.weight([8], 2)], { transB: 1 }));
  s.out(s.node('Add', [s.weight([1, 4], 3), s.node('MatMul', [s.x, s.weight([K, 4], 4)])]));
  const rand = mulberry32(5);
  const w3 = Tensor.fromTyped('w3', DType.FLOAT, [K, 6], Float32Array.from({ length: K * 6 }, () => rand() - 0.5));
  const c = g.addNode({ opType: 'Constant', inputs: [], attributes: { value: { type: 'tensor', value: w3 } } }).output(0);
  s.out(s.node('Relu', [s.node('MatMul', [s.x, c])]));
  return s.model;
}

describe('merge-projections on hand-written siblings', () => {
  it('merges Gemm transB + bias, MatMul + Add and a Constant-node MatMul into MatMul, Add, Split', async () => {
    const { after, stats } = await merged(mixedSiblings(), undefined);
    assert.deepEqual(stats, { groupsMerged: 1, matmulsRemoved: 2, biasesMerged: 2 });
    assert.deepEqual(opTypes(after), ['MatMul', 'Add', 'Split', 'Relu']);
    assert.equal(after.graph.initializers.filter((v) => v.initializer!.dims.length === 2).length, 1, 'old weights left behind');
  });

  for (const [opset, axis] of [[10, 1], [11, -1]] as const) {
    it(`writes the split sizes as an attribute before opset 13 (opset ${opset}: axis ${axis})`, async () => {
      const { after } = await merged(mixedSiblings(opset), undefined);
      const split = after.graph.nodesOfType('Split')[0]!;
      assert.deepEqual([split.inputs.length, split.getInts('split'), split.getInt('axis')], [1, [8, 4, 6], axis]);
    });
  }

  it('merges float16 projections', async () => {
    const s = sketch();
    const half = s.node('Cast', [s.x], { to: DType.FLOAT16 });
    const w = (n: number, seed: number) => s.model.graph.addConstant(`h${seed}`, Tensor.fromTyped(`h${seed}`, DType.FLOAT16, [K, n], Uint16Array.from({ length: K * n }, (_, i) => 0x2c00 + ((i * 7919 + seed) % 0x800))));
    for (const [n, seed] of [[8, 1], [4, 2]] as const) s.out(s.node('Cast', [s.node('MatMul', [half, w(n, seed)])], { to: DType.FLOAT }));
    const { after, stats } = await merged(s.model, undefined, HALF_ATOL);
    assert.equal(stats.groupsMerged, 1);
    assert.equal(count(after, 'MatMul'), 1);
  });

  it('merges the MatMul but keeps the Add when the product is also read elsewhere', async () => {
    const s = sketch();
    const y = s.node('MatMul', [s.x, s.weight([K, 8], 1)]);
    s.out(s.node('Add', [y, s.weight([8], 2)]));
    s.out(s.node('Relu', [y]));
    s.out(s.node('MatMul', [s.x, s.weight([K, 8], 3)]));
    const { after, stats } = await merged(s.model, undefined);
    assert.deepEqual(stats, { groupsMerged: 1, matmulsRemoved: 1, biasesMerged: 0 });
    assert.deepEqual(opTypes(after).sort(), ['Add', 'MatMul', 'Relu', 'Split']);
  });
});

describe('merge-projections leaves alone', () => {
  const cases: { what: string; build: () => Model; options?: Record<string, unknown> }[] = [
    { what: 'projections of different activations', build: () => {
      const s = sketch();
      s.out(s.node('MatMul', [s.x, s.weight([K, 8], 1)]));
      s.out(s.node('MatMul', [s.node('Relu', [s.x]), s.weight([K, 8], 2)]));
      return s.model;
    } },
    { what: 'a weight that another node also reads', build: () => {
      const s = sketch();
      const shared = s.weight([K, K], 1);
      s.out(s.node('MatMul', [s.x, shared]));
      s.out(s.node('MatMul', [s.x, s.weight([K, 8], 2)]));
      s.out(s.node('MatMul', [s.node('Relu', [s.x]), shared]));
      return s.model;
    } },
    { what: 'a weight that is a graph input', build: () => {
      const s = sketch();
      s.out(s.node('MatMul', [s.x, s.model.graph.addInput('w', { elemType: DType.FLOAT, shape: [K, 8] })]));
      s.out(s.node('MatMul', [s.x, s.weight([K, 8], 2)]));
      return s.model;
    } },
    { what: 'a Gemm with alpha 2', build: () => {
      const s = sketch();
      s.out(s.node('Gemm', [s.x, s.weight([K, 8], 1)], { alpha: 2.5 }));
      s.out(s.node('MatMul', [s.x, s.weight([K, 8], 2)]));
      return s.model;
    } },
    { what: 'groups smaller than minGroup', build: () => mixedSiblings(), options: { minGroup: 4 } },
    { what: 'merged weights larger than maxBytes', build: () => mixedSiblings(), options: { maxBytes: 1000 } },
    { what: 'Gemm when opTypes names MatMul only (one MatMul sibling left)', build: () => {
      const s = sketch();
      s.out(s.node('Gemm', [s.x, s.weight([K, 8], 1)]));
      s.out(s.node('MatMul', [s.x, s.weight([K, 8], 2)]));
      return s.model;
    }, options: { opTypes: ['MatMul'] } },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const before = c.build();
      const { after, result } = await applyPass(mergeProjections, before, c.options ?? {});
      assert.equal(result.modified, false);
      assert.deepEqual(opTypes(after), opTypes(before));
      await assertSameOutputs(before, after, { atol: 0, defaultDim: 5 });
    });
  }

  /** The pass's --explain lines on a copy that must stay unchanged. */
  async function explained(before: Model): Promise<string[]> {
    const lines: string[] = [];
    const model = cloneModel(before);
    const result = await mergeProjections.run(model, mergeProjections.options.parse({}), quietContext({ explain: (_, m) => lines.push(m) }));
    verifyModel(model);
    assert.equal(result.modified, false);
    return lines;
  }

  it('weights of different K on an activation of unknown shape, and says why', async () => {
    const s = sketch(17, null);
    s.out(s.node('MatMul', [s.x, s.weight([K, 8], 1)]));
    s.out(s.node('MatMul', [s.x, s.weight([8, 8], 2)]));
    const lines = await explained(s.model);
    assert.equal(lines.filter((l) => l.includes('fewer than minGroup')).length, 2, lines.join('\n'));
  });

  it('says which weight is shared', async () => {
    const s = sketch();
    const shared = s.weight([K, K], 1);
    s.out(s.node('MatMul', [s.x, shared]));
    s.out(s.node('MatMul', [s.x, s.weight([K, 8], 2)]));
    s.out(s.node('MatMul', [s.node('Relu', [s.x]), shared]));
    const lines = await explained(s.model);
    assert.ok(lines.some((l) => l.includes(`weight '${shared.name}' is also read elsewhere`)), lines.join('\n'));
  });
});

describe('merge-projections on the fixture models', () => {
  it('bundled models: Q/K/V and gate/up in tiny-llama, biased Q/K/V in tiny-bert, nothing in tiny-gpt2', async () => {
    const expected: Record<string, { groupsMerged: number; biasesMerged: number }> = {
      'tiny-llama.onnx': { groupsMerged: 4, biasesMerged: 0 },
      'tiny-gpt2.onnx': { groupsMerged: 0, biasesMerged: 0 },
      'tiny-bert.onnx': { groupsMerged: 2, biasesMerged: 6 },
    };
    for (const [file, want] of Object.entries(expected)) {
      const before = loadModel(path.join(MODELS_DIR, file));
      const { stats } = await merged(before, tokenFeeds(before, 2, 9));
      assert.deepEqual([stats.groupsMerged, stats.biasesMerged], [want.groupsMerged, want.biasesMerged], file);
    }
  });

  for (const style of STYLES) {
    it(`builders (${style}): LLaMA Q/K/V + gate/up, BERT Q/K/V, GPT-2 packed already`, async () => {
      const llama = buildLlama({ style, layers: 2, kvHeads: 2 });
      assert.deepEqual((await merged(llama, tokenFeeds(llama, 2, 9))).stats, { groupsMerged: 4, matmulsRemoved: 6, biasesMerged: 0 });
      const bert = buildBert({ style, layers: 2 });
      assert.deepEqual((await merged(bert, tokenFeeds(bert, 2, 9, { padded: true }))).stats, { groupsMerged: 2, matmulsRemoved: 4, biasesMerged: 6 });
      const gpt2 = buildGpt2({ style, layers: 2 });
      assert.equal((await merged(gpt2, tokenFeeds(gpt2, 2, 9))).stats.groupsMerged, 0);
    });

    it(`after the fuse preset (${style} LLaMA): gate/up merged, outputs within ${ATOL}`, async () => {
      const before = buildLlama({ style, layers: 2, kvHeads: 2 });
      await runSteps(before, resolveSteps(['preset:fuse']), quietContext());
      const { after, stats } = await merged(before, tokenFeeds(before, 2, 9));
      assert.deepEqual(stats, { groupsMerged: 2, matmulsRemoved: 2, biasesMerged: 0 });
      assert.equal(count(after, 'Split'), count(before, 'Split') + 2);
    });
  }

  it('llama-tiny after the fuse preset: one group per layer, logits within 1e-5', { skip: skipWithoutShared }, async () => {
    const before = loadModel(sharedFile('llama-tiny.onnx'));
    await runSteps(before, resolveSteps(['preset:fuse']), quietContext());
    const { stats } = await merged(before, tokenFeeds(before, 2, 32));
    assert.deepEqual(stats, { groupsMerged: 4, matmulsRemoved: 4, biasesMerged: 0 });
  });
});
