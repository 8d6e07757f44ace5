import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Session } from '../../src/runtime/session.js';
import { loadModel } from '../../src/io/load.js';
import { describeIo } from '../../src/bench/model-io.js';
import { makeFeeds } from '../../src/bench/feeds.js';
import { GreedyDecoder, decodeInterleaved, tokensPerSecond } from '../../src/bench/decode.js';
import { randomIds } from '../../src/bench/feeds.js';
import { ROOT } from '../helpers/cli.js';
import { cacheModel, VOCAB } from './cache-model.js';

const settings = { batch: 2, seq: 5, newTokens: 6 };

describe('model interface for benchmarks', () => {
  it('pairs past inputs with present outputs and finds the growing axis', () => {
    const io = describeIo(cacheModel());
    assert.deepEqual(io.cache, [{ past: 'past_key_values.0.key', present: 'present.0.key', axis: 2 }]);
    assert.deepEqual(io.inputs.map((i) => i.role), ['ids', 'mask', 'positions', 'past']);
    assert.equal(io.logits, 'logits');
    assert.equal(io.vocab, VOCAB);
  });

  it('builds cache-step feeds: one token, mask over past + 1, the next position', () => {
    const io = describeIo(cacheModel());
    const feeds = makeFeeds(io, { batch: 2, seq: 1, pastLength: 7 }, { ids: BigInt64Array.of(3n, 4n) });
    assert.deepEqual(feeds.attention_mask!.dims, [2, 8]);
    assert.deepEqual([...(feeds.position_ids!.data as BigInt64Array)], [7n, 7n]);
    assert.deepEqual([...(feeds.input_ids!.data as BigInt64Array)], [3n, 4n]);
    assert.deepEqual(feeds['past_key_values.0.key']!.dims, [2, 1, 0, 8]);
  });
});

describe('greedy decoding', () => {
  it('with the cache gives the tokens of re-running the prefix, feeding present back as past', async () => {
    const model = cacheModel();
    const io = describeIo(model);
    const prompt = randomIds(settings, io.vocab);
    const session = await Session.fromModel(model);
    try {
      const cached = new GreedyDecoder(session, io, { ...settings, useCache: true }, prompt);
      const full = new GreedyDecoder(session, io, { ...settings, useCache: false }, prompt);
      await decodeInterleaved([cached, full]);
      assert.equal(cached.cache, true);
      assert.equal(full.cache, false);
      assert.deepEqual(cached.pastLengths, [0, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual(full.pastLengths, [0, 0, 0, 0, 0, 0, 0]);
      assert.equal(cached.tokens()[0]!.length, settings.newTokens + 1);
      assert.deepEqual(cached.tokens(), full.tokens());
      assert.equal(cached.stepMs.length, settings.newTokens);
    } finally {
      await session.release();
    }
  });

  it('decodes the bundled llama without a cache', async () => {
    const model = loadModel(path.join(ROOT, 'fixtures/models/tiny-llama.onnx'));
    const io = describeIo(model);
    const session = await Session.fromModel(model);
    try {
      const d = new GreedyDecoder(session, io, { batch: 1, seq: 8, newTokens: 3, useCache: true }, randomIds({ batch: 1, seq: 8 }, io.vocab));
      await decodeInterleaved([d]);
      assert.equal(d.cache, false);
      assert.equal(d.tokens()[0]!.length, 4);
      assert.ok(d.tokens()[0]!.every((t) => t >= 0 && t < io.vocab));
      assert.ok(tokensPerSecond(d, 1) > 0);
    } finally {
      await session.release();
    }
  });
});
