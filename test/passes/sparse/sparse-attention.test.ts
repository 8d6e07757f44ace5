/** sparse-attention: the band against a reference predicate, and properties local attention must have in onnxruntime. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import type { Model } from '../../../src/ir/model.js';
import { DType } from '../../../src/ir/dtype.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { loadModel } from '../../../src/io/load.js';
import { runSteps } from '../../../src/pipeline/manager.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { runModel } from '../../../src/runtime/session.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import { compareOutputs } from '../../../src/runtime/compare.js';
import type { Feeds, HostTensor } from '../../../src/runtime/tensors.js';
import sparseAttention from '../../../passes/sparse/sparse-attention.js';
import addKvCache from '../../../passes/cache/add-kv-cache.js';
import { BandBuilder, type Locality } from '../../../passes/sparse/band.js';
import { MODELS_DIR } from '../../../fixtures/build/bundled.js';
import { buildLlama } from '../../../fixtures/build/index.js';
import { applyPass, opTypes } from '../../helpers/model.js';
import { newModel } from '../../helpers/tiny.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { greedyCached, greedyPlain, lastRow, maxAbsDiff } from '../cache/decode.js';

/** Same computation up to summation order (fp32). */
const ATOL = 1e-5;
/** Cached against uncached decoding (as add-kv-cache's own test). */
const CACHE_ATOL = 1e-4;
const SEQ = 12;

type Options = Partial<z.input<typeof sparseAttention.options>>;

const fixture = (name: string): Model => loadModel(`${MODELS_DIR}/tiny-${name}.onnx`);

/** The `fuse` preset; `portable` makes fuse-attention emit opset-23 Attention. */
async function fused(model: Model, target: 'contrib' | 'portable' = 'contrib'): Promise<Model> {
  const copy = cloneModel(model);
  const steps = resolveSteps(['preset:fuse']).map((s) => (s.pass.name === 'fuse-attention' ? { ...s, options: s.pass.options.parse({ target }) } : s));
  await runSteps(copy, steps, quietContext());
  return copy;
}

async function sparse(model: Model, options: Options): Promise<Model> {
  return (await applyPass(sparseAttention, model, options)).after;
}

async function maxDiff(a: Model, b: Model, feeds: Feeds): Promise<number> {
  const [x, y] = [await runModel(a, feeds), await runModel(b, feeds)];
  return Math.max(...compareOutputs(x, y).map((d) => d.maxAbs));
}

const feedsFor = (model: Model, seq = SEQ): Feeds => randomFeeds(model, { dims: { batch: 2, sequence: seq }, seed: 3 });
const ids = (tokens: readonly number[]): HostTensor => ({ dtype: DType.INT64, dims: [1, tokens.length], data: BigInt64Array.from(tokens, BigInt) });
const row = (logits: HostTensor, i: number): Float32Array => {
  const v = logits.dims[2]!;
  return (logits.data as Float32Array).slice(i * v, (i + 1) * v);
};
const tokens = (n: number, salt: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + salt * 101 + 11) % 256);

/** Written from the definition, independently of band.ts: may query at `q` attend to key `k` (causal part aside)? */
function reference(l: Locality, q: number, k: number): boolean {
  if (k < l.sinks) return true;
  const apart = l.mode === 'sliding' ? q - k : Math.floor(q / l.blockSize) - Math.floor(k / l.blockSize);
  const reach = l.mode === 'sliding' ? l.window : 2;
  return (l.symmetric ? Math.abs(apart) : apart) < reach;
}

/** Windows, sinks and blocks on the fused model give the outputs of the band on the unfused one, and differ from dense. */
async function assertSameAsUnfused(original: Model, fusedModel: Model, bidirectional: boolean): Promise<void> {
  for (const options of [{ window: 3 }, { window: 1 }, { window: 4, sinks: 2 }, { mode: 'block', blockSize: 3 }] as const) {
    const o = { ...options, bidirectional };
    const [a, b] = [await sparse(original, o), await sparse(fusedModel, o)];
    const feeds = feedsFor(original);
    const d = await maxDiff(a, b, feeds);
    assert.ok(d <= ATOL, `${JSON.stringify(o)}: unfused vs fused differ by ${d}`);
    assert.ok(await maxDiff(original, a, feeds) > 1e-3, `${JSON.stringify(o)}: the band changed nothing`);
  }
}

describe('sparse-attention: the band', () => {
  const cases: Locality[] = [
    { mode: 'sliding', window: 3, blockSize: 1, sinks: 0, symmetric: false },
    { mode: 'sliding', window: 1, blockSize: 1, sinks: 2, symmetric: false },
    { mode: 'sliding', window: 4, blockSize: 1, sinks: 1, symmetric: true },
    { mode: 'block', window: 1, blockSize: 3, sinks: 0, symmetric: false },
    { mode: 'block', window: 1, blockSize: 2, sinks: 1, symmetric: true },
  ];
  for (const l of cases) {
    it(`matches the reference for ${JSON.stringify(l)} at several query/key lengths (with a past)`, async () => {
      const model = newModel();
      const g = model.graph;
      const [s, t] = ['S', 'T'].map((n) => g.addInput(n, { elemType: DType.INT64, shape: [] }));
      const anchor = g.addNode({ opType: 'Identity', inputs: [s!], outputs: ['anchor'] });
      const keep = new BandBuilder(model, anchor).keep(s!, t!, l);
      keep.type = { elemType: DType.BOOL };
      g.outputs.push(keep);
      for (const [S, T] of [[7, 7], [1, 9], [3, 10], [5, 5]] as const) {
        const out = await runModel(model, { S: { dtype: DType.INT64, dims: [], data: BigInt64Array.of(BigInt(S)) }, T: { dtype: DType.INT64, dims: [], data: BigInt64Array.of(BigInt(T)) } });
        const got = out[keep.name]!;
        assert.deepEqual(got.dims, [S, T]);
        for (let r = 0; r < S; r++) {
          for (let k = 0; k < T; k++) assert.equal(got.data[r * T + k] === 1, reference(l, T - S + r, k), `S=${S} T=${T} row ${r} key ${k}`);
        }
      }
    });
  }
});

describe('sparse-attention on the bundled fixtures', () => {
  const models = [
    { name: 'llama', fusedOp: 'com.microsoft.GroupQueryAttention', bidirectional: false },
    { name: 'gpt2', fusedOp: 'com.microsoft.Attention', bidirectional: false },
    { name: 'bert', fusedOp: 'com.microsoft.Attention', bidirectional: true },
  ];
  for (const m of models) {
    it(`${m.name}: a window >= the sequence changes nothing (unfused and fused within ${ATOL})`, async () => {
      const original = fixture(m.name);
      for (const model of [original, await fused(original)]) {
        const { after, result } = await applyPass(sparseAttention, model, { window: SEQ + 4, bidirectional: m.bidirectional });
        assert.equal(result.stats.blocksChanged, 2);
        assert.equal(result.stats.window, SEQ + 4);
        assert.ok(await maxDiff(model, after, feedsFor(model)) <= ATOL);
      }
    });

    for (const target of ['contrib', 'portable'] as const) {
      const op = target === 'contrib' ? m.fusedOp : 'Attention';
      it(`${m.name}: the fused ${op} (${target}) gives the unfused band's outputs, and the band changes them`, async () => {
        const original = fixture(m.name);
        const f = await fused(original, target);
        assert.ok(opTypes(f).includes(op));
        await assertSameAsUnfused(original, f, m.bidirectional);
      });
    }

    it(`${m.name}: a second run changes nothing`, async () => {
      for (const model of [fixture(m.name), await fused(fixture(m.name))]) {
        const once = await sparse(model, { window: 4, bidirectional: m.bidirectional });
        const { result } = await applyPass(sparseAttention, once, { window: 4, bidirectional: m.bidirectional });
        assert.equal(result.modified, false);
      }
    });
  }

  it('llama with a padding mask: MultiHeadAttention with RotaryEmbedding gives the unfused band\'s outputs', async () => {
    const original = buildLlama({ layers: 2, hidden: 128, heads: 4, vocab: 256, kvHeads: 2, ffn: 256, attentionMask: true });
    const f = await fused(original);
    assert.ok(opTypes(f).includes('com.microsoft.MultiHeadAttention'));
    await assertSameAsUnfused(original, f, false);
  });

  it('llama: GroupQueryAttention takes local_window_size when it says exactly the window', async () => {
    const { after, result } = await applyPass(sparseAttention, await fused(fixture('llama')), { window: 5 });
    assert.equal(result.stats.localWindowAttribute, 2);
    for (const n of after.graph.nodesOfType('GroupQueryAttention', 'com.microsoft')) assert.equal(n.getInt('local_window_size'), 5);
  });

  it('window 1: each token sees only itself, so llama logits at position i are those of token i alone', async () => {
    const original = fixture('llama');
    const seq = tokens(SEQ, 1);
    for (const model of [await sparse(original, { window: 1 }), await sparse(await fused(original), { window: 1 })]) {
      const logits = (await runModel(model, { input_ids: ids(seq) })).logits!;
      for (let i = 0; i < SEQ; i++) {
        const alone = (await runModel(original, { input_ids: ids([seq[i]!]) })).logits!;
        const d = maxAbsDiff(row(logits, i), row(alone, 0));
        assert.ok(d <= ATOL, `position ${i}: ${d}`);
      }
    }
  });

  it('window 1: gpt2 logits at a position do not depend on the other tokens', async () => {
    const a = tokens(SEQ, 1);
    const b = a.map((t, i) => (i % 2 ? (t + 77) % 256 : t));
    for (const model of [await sparse(fixture('gpt2'), { window: 1 }), await sparse(await fused(fixture('gpt2')), { window: 1 })]) {
      const [la, lb] = [(await runModel(model, { input_ids: ids(a) })).logits!, (await runModel(model, { input_ids: ids(b) })).logits!];
      for (let i = 0; i < SEQ; i++) {
        const d = maxAbsDiff(row(la, i), row(lb, i));
        if (i % 2) assert.ok(d > 1e-3, `position ${i} should change`);
        else assert.ok(d <= ATOL, `position ${i}: ${d}`);
      }
    }
  });

  it('a token reaches no further than layers x (window - 1) positions ahead, sinks aside', async () => {
    const layers = 2, window = 3, sinks = 2, at = 6;
    const a = tokens(16, 2);
    const b = a.map((t, i) => (i === at ? (t + 1) % 256 : t));
    for (const model of [await sparse(fixture('llama'), { window, sinks }), await sparse(await fused(fixture('llama')), { window, sinks })]) {
      const [la, lb] = [(await runModel(model, { input_ids: ids(a) })).logits!, (await runModel(model, { input_ids: ids(b) })).logits!];
      for (let i = 0; i < 16; i++) {
        const d = maxAbsDiff(row(la, i), row(lb, i));
        const reached = i >= at && i <= at + layers * (window - 1);
        if (reached) assert.ok(d > 1e-4, `position ${i} should see token ${at}`);
        else assert.ok(d <= ATOL, `position ${i} sees token ${at}: ${d}`);
      }
    }
  });

  it('only the chosen layers change', async () => {
    const model = fixture('gpt2');
    const { after, result } = await applyPass(sparseAttention, model, { window: 2, layers: [1] });
    assert.equal(result.stats.blocksChanged, 1);
    const both = await sparse(model, { window: 2 });
    const feeds = feedsFor(model);
    assert.ok(await maxDiff(model, after, feeds) > 1e-3);
    assert.ok(await maxDiff(both, after, feeds) > 1e-3);
  });
});

describe('sparse-attention refuses', () => {
  for (const form of ['unfused', 'fused'] as const) {
    it(`a one-sided window on ${form} bert (no causal mask), saying why`, async () => {
      const model = form === 'fused' ? await fused(fixture('bert')) : fixture('bert');
      const explained: string[] = [];
      const after = cloneModel(model);
      const result = await sparseAttention.run(after, sparseAttention.options.parse({ window: 4 }), quietContext({ explain: (_p, m) => explained.push(m) }));
      assert.equal(result.modified, false);
      assert.equal(result.stats.refused, 2);
      assert.match(explained.join('\n'), /not causal.*bidirectional: true/);
      assert.equal(after.graph.nodes.length, model.graph.nodes.length);
    });
  }

  it('a band on float16 fused attention, while local_window_size still fits it', async () => {
    for (const name of ['gpt2', 'llama']) {
      const model = await fused(fixture(name));
      await runSteps(model, resolveSteps(['convert-float16']), quietContext());
      const { result } = await applyPass(sparseAttention, model, { window: 4, sinks: 1 });
      assert.deepEqual([result.modified, result.stats.refused], [false, 2]);
    }
    const llama = await fused(fixture('llama'));
    await runSteps(llama, resolveSteps(['convert-float16']), quietContext());
    const { after, result } = await applyPass(sparseAttention, llama, { window: 4 });
    assert.equal(result.stats.localWindowAttribute, 2);
    await runModel(after, feedsFor(after));
  });

  it('a model without attention', async () => {
    const model = newModel();
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [2, 3] });
    const y = model.graph.addNode({ opType: 'Softmax', inputs: [x], outputs: ['y'] }).output(0);
    model.graph.outputs.push(y);
    const { result } = await applyPass(sparseAttention, model, { window: 2 });
    assert.equal(result.modified, false);
  });
});

describe('sparse-attention with a key/value cache', () => {
  const cases = [
    { name: 'llama (GroupQueryAttention local_window_size)', model: 'llama', options: { window: 5 } },
    { name: 'llama (GroupQueryAttention attention_bias, sinks)', model: 'llama', options: { window: 5, sinks: 2 } },
    { name: 'gpt2 (MultiHeadAttention attention_bias)', model: 'gpt2', options: { window: 5 } },
    { name: 'gpt2 blocks', model: 'gpt2', options: { mode: 'block', blockSize: 4 } },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: greedy tokens with the cache equal those without it, and differ from dense`, async () => {
      const f = await fused(fixture(c.model));
      const plain = await sparse(f, c.options);
      const cached = await sparse((await applyPass(addKvCache, f)).after, c.options);
      const prompt = tokens(12, 3);
      const [a, b] = [await greedyPlain(plain, prompt, 16), await greedyCached(cached, prompt, 16)];
      for (let i = 0; i < 16; i++) {
        const d = maxAbsDiff(lastRow(a.logits[i]!), lastRow(b.logits[i]!));
        assert.ok(d <= CACHE_ATOL, `step ${i}: ${d}`);
      }
      assert.deepEqual(b.tokens, a.tokens);
      const dense = await greedyPlain(f, prompt, 1);
      assert.ok(maxAbsDiff(lastRow(dense.logits[0]!), lastRow(a.logits[0]!)) > 1e-3, 'the window changed nothing');
    });
  }
});

describe('sparse-attention on the shared models', { skip: skipWithoutShared }, () => {
  /** The fused graphs of these exports differ from the originals by up to ~3e-5 already (docs/passes/fusion.md). */
  const FUSED_ATOL = 1e-4;
  for (const name of ['llama', 'gpt2']) {
    it(`${name}-tiny, window 16 + 4 sinks: fused equals unfused, and cached greedy decoding equals uncached over 32 steps`, async () => {
      const options = { window: 16, sinks: 4 };
      const original = loadModel(sharedFile(`${name}-tiny.onnx`));
      const f = await fused(original);
      const plain = await sparse(f, options);
      const feeds = { input_ids: ids(tokens(48, 5)) };
      assert.ok(await maxDiff(await sparse(original, options), plain, feeds) <= FUSED_ATOL);
      const cached = await sparse((await applyPass(addKvCache, f)).after, options);
      const prompt = tokens(20, 7);
      const [a, b] = [await greedyPlain(plain, prompt, 32), await greedyCached(cached, prompt, 32)];
      assert.deepEqual(b.tokens, a.tokens);
    });
  }
});
