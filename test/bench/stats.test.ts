import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pairRatios, quantile, speedup, summarize } from '../../src/bench/stats.js';
import { runOrder } from '../../src/bench/schedule.js';
import { AgreementAccumulator } from '../../src/bench/agreement.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('latency statistics', () => {
  it('interpolates percentiles between closest ranks', () => {
    close(quantile([1, 2, 3, 4], 0.5), 2.5);
    close(quantile([1, 2, 3, 4], 0.9), 3.7);
    close(quantile([10, 20, 30, 40, 50], 0.99), 49.6);
    close(quantile([7], 0.3), 7);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it('summarizes unsorted samples: mean, sample deviation, extremes', () => {
    const s = summarize([9, 2, 5, 4, 4, 7, 4, 5]);
    assert.equal(s.runs, 8);
    close(s.mean, 5);
    close(s.stdev, Math.sqrt(32 / 7));
    assert.equal(s.min, 2);
    assert.equal(s.max, 9);
    close(s.p50, 4.5);
    close(s.p90, 7.6);
    assert.equal(summarize([3]).stdev, 0);
  });

  it('speedup is the ratio of medians, its interval spans the resampled ratios', () => {
    const baseline = [10, 12, 11, 13, 10, 30, 11, 12];
    const same = speedup(baseline.map((x) => x / 2), baseline);
    close(same.value, 2);
    close(same.low, 2);
    close(same.high, 2);
    const model = [5, 7, 5, 8, 6, 6, 5, 9];
    const s = speedup(model, baseline, { seed: 3 });
    close(s.value, 11.5 / 6);
    assert.ok(s.low <= s.high && s.low > 1 && s.high < 3, JSON.stringify(s));
    const r = pairRatios(model, baseline);
    assert.ok(r.p10 <= r.p50 && r.p50 <= r.p90);
    close(pairRatios([1, 2], [2, 4]).p50, 2);
  });
});

describe('interleaving', () => {
  it('alternates which model runs first', () => {
    assert.deepEqual([0, 1, 2, 3].map((i) => runOrder(i, 2)), [[0, 1], [1, 0], [0, 1], [1, 0]]);
    assert.deepEqual(runOrder(5, 1), [0]);
    assert.deepEqual(runOrder(1, 3), [1, 2, 0]);
  });
});

describe('logit agreement', () => {
  it('counts top-1 matches, the largest difference and the mean cosine', () => {
    const acc = new AgreementAccumulator();
    acc.add([1, 2, 3, 0, 0, 1], [1, 2, 2.5, 1, 0, 0], 2, 3);
    const r = acc.result();
    assert.equal(r.positions, 2);
    close(r.maxAbs, 1);
    close(r.top1Agreement, 0.5);
    const cos1 = (1 + 4 + 7.5) / Math.sqrt(14 * 11.25);
    close(r.meanCosine, (cos1 + 0) / 2);
  });
});
