import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { buildBenchLlama, type LlamaShape } from '../../bench/prune/llama-model.js';
import { pruneFfn, tokenFeeds } from '../../bench/prune/speed.js';
import { abRatio } from '../../bench/prune/ab.js';
import { timeInterleaved } from '../../src/bench/latency.js';
import { measurePruneMemory, memoryRatios } from '../../bench/prune/memory.js';
import type { PruneChildReport } from '../../bench/prune/child.js';
import { detectTransformer } from '../../src/analysis/transformer.js';
import { Session } from '../../src/runtime/session.js';

const TINY: LlamaShape = { hidden: 64, ffn: 256, layers: 2, heads: 4, kvHeads: 2, vocab: 300 };

describe('bench:prune pieces at a tiny size', () => {
  it('the LLaMA-shaped generator has the asked shape, and pruning its FFN keeps it runnable', async () => {
    const dense = buildBenchLlama(TINY);
    const blocks = detectTransformer(dense).blocks;
    assert.equal(blocks.length, TINY.layers);
    assert.ok(blocks.every((b) => b.mlp?.down[0]?.k === TINY.ffn && b.attention[0]?.heads === TINY.heads && b.attention[0]?.kvHeads === TINY.kvHeads));
    const { model } = await pruneFfn(dense, 0.25);
    assert.ok(detectTransformer(model).blocks.every((b) => b.mlp?.down[0]?.k === TINY.ffn * 0.75));
    const feeds = tokenFeeds(dense, 16);
    assert.deepEqual(feeds.input_ids!.dims, [1, 16]);
    const sessions = [await Session.fromModel(dense, { threads: 1 }), await Session.fromModel(model, { threads: 1 })];
    try {
      const times = await timeInterleaved(sessions.map((session) => ({ session, feeds })), { warmup: 1, runs: 3 });
      assert.deepEqual(times.map((t) => t.length), [3, 3]);
      assert.ok(times.flat().every((t) => t > 0));
    } finally {
      await Promise.all(sessions.map((s) => s.release()));
    }
  });

  it('the A/B ratio is the ratio of medians, the round spread that of per-round ratios', () => {
    const r = abRatio([2, 4, 6, 100], [1, 2, 3, 10]);
    assert.equal(r.baselineMs, 5);
    assert.equal(r.modelMs, 2.5);
    assert.equal(r.speedup.value, 2);
    assert.ok(r.speedup.low <= 2 && r.speedup.high >= 2);
    assert.equal(r.best, 2);
    assert.ok(Math.abs(r.rounds[0] - 2) < 1e-12 && Math.abs(r.rounds[1] - 7.6) < 1e-9, String(r.rounds));
  });

  it('memory ratios: bytes over seconds, peak over the model size', () => {
    const report: PruneChildReport = {
      sparsity: 0.5, loadMs: 500, passMs: 1000, saveMs: 500, outputBytes: 0, paramsInLayers: 0, paramsPruned: 0, peakRss: 3e9, peakRssAfterPass: 2e9,
    };
    const r = memoryRatios(report, 2e9);
    assert.equal(r.mbPerS, 1000);
    assert.equal(r.peakRatio, 1.5);
  });

  it('the memory harness prunes a small external-data decoder in a child process', () => {
    const r = measurePruneMemory({ params: 2e6, hidden: 64, vocab: 256, sparsity: 0.5, dir: os.tmpdir() }, () => {});
    assert.ok(r.paramsInLayers > 0);
    assert.equal(r.paramsPruned, r.paramsInLayers / 2);
    assert.ok(r.peakRss > 0 && r.peakRatio > 0 && r.mbPerS > 0);
    assert.ok(r.outputBytes > 0);
  });
});
