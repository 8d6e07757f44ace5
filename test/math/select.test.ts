import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kthSmallest } from '../../src/math/select.js';

/** Deterministic pseudo-random values with many duplicates (levels) or none. */
function values(n: number, seed: number, levels: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = levels > 0 ? s % levels : s / 2 ** 32 - 0.5;
  }
  return out;
}

describe('kthSmallest', () => {
  it('agrees with a full sort for every k on small arrays, with and without ties', () => {
    for (const levels of [0, 1, 3, 50]) {
      for (const n of [1, 2, 17, 40, 101]) {
        const v = values(n, n * 7 + levels, levels);
        const sorted = Float64Array.from(v).sort();
        for (let k = 0; k < n; k++) assert.equal(kthSmallest(Float64Array.from(v), k), sorted[k], `n ${n} levels ${levels} k ${k}`);
      }
    }
  });

  it('agrees with a full sort on a large array at a few ranks', () => {
    const v = values(200_003, 9, 0);
    const sorted = Float64Array.from(v).sort();
    for (const k of [0, 1, 100_001, 199_999, 200_002]) assert.equal(kthSmallest(Float64Array.from(v), k), sorted[k]);
  });

  it('handles sorted, reversed and constant inputs', () => {
    const up = Float64Array.from({ length: 1000 }, (_, i) => i);
    const down = Float64Array.from({ length: 1000 }, (_, i) => 999 - i);
    assert.equal(kthSmallest(up, 333), 333);
    assert.equal(kthSmallest(down, 333), 333);
    assert.equal(kthSmallest(new Float64Array(1000).fill(2), 500), 2);
  });

  it('refuses a rank outside the array', () => {
    assert.throws(() => kthSmallest(new Float64Array(3), 3), RangeError);
    assert.throws(() => kthSmallest(new Float64Array(3), -1), RangeError);
  });
});
