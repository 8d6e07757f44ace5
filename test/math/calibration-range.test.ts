import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entropyRange, entropyThreshold, minMaxRange, percentileRange, type Range } from '../../src/math/calibration-range.js';
import { SymmetricHistogramCollector } from '../../src/math/collectors.js';
import { mulberry32 } from '../../src/runtime/feeds.js';

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** A histogram of `values` observed in batches of 1000, as calibration feeds it. */
function histogramOf(values: Float32Array, bins = 2048): SymmetricHistogramCollector {
  const h = new SymmetricHistogramCollector(bins);
  for (let at = 0; at < values.length; at += 1000) h.observe(values.subarray(at, at + 1000));
  return h;
}

/** 100 000 standard normal samples plus 3 outliers on each side (+40, −30). */
function normalWithOutliers(): Float32Array {
  const rand = mulberry32(7);
  const v = Float32Array.from({ length: 100_000 }, () => gaussian(rand));
  v.set([40, 40, 40, -30, -30, -30], 50_000);
  return v;
}

const contains = (r: Range, lo: number, hi: number) => r.lo <= lo && r.hi >= hi;

describe('calibration ranges', () => {
  it('Gaussian with outliers: min/max keeps them, percentile and entropy clip below them', () => {
    const v = normalWithOutliers();
    const h = histogramOf(v);
    assert.deepEqual(minMaxRange(h.min, h.max), { lo: -30, hi: 40 });
    for (const symmetric of [false, true]) {
      const p = percentileRange(h, 99.99, symmetric);
      assert.ok(p.hi < 10 && p.hi > 3, `percentile hi ${p.hi}`);
      assert.ok(p.lo > -10 && p.lo < -3, `percentile lo ${p.lo}`);
      const e = entropyRange(h, symmetric);
      assert.ok(e.hi < 40 && e.hi > 2, `entropy hi ${e.hi}`);
      assert.ok(e.lo > -30 && e.lo < -2, `entropy lo ${e.lo}`);
    }
  });

  it('percentile 100 and data without tails give the min/max range', () => {
    const h = histogramOf(normalWithOutliers());
    assert.deepEqual(percentileRange(h, 100, false), { lo: -30, hi: 40 });
    const uniform = histogramOf(Float32Array.from({ length: 20_000 }, (_, i) => i / 20_000));
    const e = entropyRange(uniform, true);
    assert.ok(e.hi > 0.97 * uniform.max, `a uniform distribution is hardly clipped: ${e.hi}`);
  });

  it('one-sided data: the range starts at 0 and clips only the long tail', () => {
    const rand = mulberry32(3);
    const v = Float32Array.from({ length: 50_000 }, () => -Math.log(1 - rand())); // exponential
    const h = histogramOf(v);
    for (const r of [percentileRange(h, 99.9, false), entropyRange(h, false)]) {
      assert.equal(r.lo, 0);
      assert.ok(r.hi < h.max && r.hi > 3, `hi ${r.hi} of max ${h.max}`);
    }
  });

  it('a constant tensor keeps its value in range, whatever the method', () => {
    for (const c of [2.5, -0.75]) {
      const h = histogramOf(new Float32Array(5000).fill(c));
      const expected = c > 0 ? { lo: 0, hi: c } : { lo: c, hi: 0 };
      for (const symmetric of [false, true]) {
        for (const r of [minMaxRange(h.min, h.max), percentileRange(h, 99.999, symmetric), entropyRange(h, symmetric)]) {
          assert.ok(contains(r, expected.lo, expected.hi), `${JSON.stringify(r)} for constant ${c}`);
        }
      }
    }
  });

  it('all zeros, no data, a few samples and a denormal spread give finite ranges without clipping', () => {
    const zeros = histogramOf(new Float32Array(1000));
    for (const r of [percentileRange(zeros, 99.999, false), entropyRange(zeros, false), entropyRange(zeros, true)]) assert.deepEqual(r, { lo: 0, hi: 0 });
    const empty = new SymmetricHistogramCollector(256);
    assert.deepEqual(entropyRange(empty, false), { lo: 0, hi: 0 });
    assert.deepEqual(minMaxRange(empty.min, empty.max), { lo: 0, hi: 0 });
    const few = histogramOf(Float32Array.of(-1, 0.5, 2));
    for (const r of [percentileRange(few, 99.999, false), entropyRange(few, false), entropyRange(few, true)]) {
      assert.ok(contains(r, -1, 2), `few samples: ${JSON.stringify(r)}`);
    }
    const tiny = histogramOf(Float32Array.of(1e-42, -3e-43, 0, 5e-43));
    for (const r of [percentileRange(tiny, 99.999, true), entropyRange(tiny, false)]) {
      assert.ok(Number.isFinite(r.lo) && Number.isFinite(r.hi) && r.hi >= 1e-42 * 0.999, `denormals: ${JSON.stringify(r)}`);
    }
  });

  it('entropyThreshold: no clipping with fewer filled bins than levels; clipping a lone far outlier', () => {
    const sparse = new Float64Array(2048);
    sparse[10] = 5; sparse[100] = 3;
    assert.equal(entropyThreshold(sparse, 0.01, 128), 1.01);
    const tailed = new Float64Array(2048);
    for (let i = 0; i < 200; i++) tailed[i] = 1000 * Math.exp(-i / 40);
    tailed[2047] = 1;
    const t = entropyThreshold(tailed, 0.01, 128);
    assert.ok(t < 20.48 && t >= 1.28, `threshold ${t}`);
  });
});

describe('SymmetricHistogramCollector', () => {
  it('keeps every finite sample while its range doubles, and min/max exact', () => {
    const h = new SymmetricHistogramCollector(64);
    h.observe(Float32Array.of(0.5, -0.25, 0));
    h.observe(Float32Array.of(3, -7, NaN, 1.5));
    h.observe(Float32Array.of(Infinity));
    assert.equal(h.counts.reduce((a, b) => a + b, 0), 6, 'NaN and Infinity are not binned');
    assert.ok(h.limit >= 7 && h.limit < 14, `limit ${h.limit}`);
    assert.equal(h.min, -7);
    assert.equal(h.max, Infinity);
    const width = h.limit / 64;
    // A value equal to the limit of its time sits in the top bin, so after merges it may be one bin low.
    const near = (v: number) => {
      const k = Math.floor(Math.abs(v) / width);
      return [k, k - 1].filter((j) => j >= 0).map((j) => (v < 0 ? 63 - j : 64 + j));
    };
    for (const v of [0.5, -0.25, 0, 3, -7, 1.5]) assert.ok(near(v).some((b) => h.counts[b]! >= 1), `value ${v} in its bin`);
  });
});
