import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  countNmViolations, distribute, markLowest, markLowestPerGroup, markNm, parsePattern, pruneCount, rampPattern,
} from '../../../src/math/sparsity.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';

const random = (n: number, seed: number) => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => r() - 0.5);
};
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);

describe('sparsity math', () => {
  it('parses N:M patterns and refuses bad ones', () => {
    assert.deepEqual(parsePattern('2:4'), { n: 2, m: 4 });
    assert.deepEqual(parsePattern(' 1 : 8 '), { n: 1, m: 8 });
    for (const bad of ['5:4', '0:4', '2-4', '2:', 'x:y', '2:0', '2:4:8']) assert.throws(() => parsePattern(bad), RangeError, bad);
  });

  it('marks exactly the count of lowest scores, ties included', () => {
    const scores = Float64Array.from([3, 1, 2, 1, 1, 5]);
    const mask = new Uint8Array(6);
    markLowest(scores, mask, 0, 6, 2);
    assert.deepEqual([...mask], [0, 1, 0, 1, 0, 0]);
    for (const count of [0, 1, 3, 6]) {
      const m = new Uint8Array(6);
      markLowest(scores, m, 0, 6, count);
      assert.equal(sum(m), count);
      const kept = Math.min(...[...scores].filter((_, i) => !m[i]));
      const cut = Math.max(...[...scores].filter((_, i) => m[i]), -Infinity);
      assert.ok(count === 0 || count === 6 || cut <= kept);
    }
  });

  it('distributes a total exactly, never more than a part holds', () => {
    const parts = distribute(10, [3, 3, 4]);
    assert.equal(sum(parts), 10);
    assert.deepEqual([...parts], [3, 3, 4]);
    const uneven = distribute(7, [5, 0, 5, 2]);
    assert.equal(sum(uneven), 7);
    assert.equal(uneven[1], 0);
    [5, 0, 5, 2].forEach((w, i) => assert.ok(uneven[i]! <= w));
  });

  it('prunes per group on top of an existing mask', () => {
    const scores = random(40, 1);
    const mask = new Uint8Array(40);
    mask[0] = 1;
    markLowestPerGroup(scores, mask, 10, [2, 3, 0, 10]);
    assert.deepEqual([0, 1, 2, 3].map((g) => sum(mask.subarray(g * 10, g * 10 + 10))), [3, 3, 0, 10]);
    assert.equal(mask[0], 1);
  });

  it('N:M keeps the N largest of every group, a partial last group included', () => {
    const k = 10;
    const cols = 3;
    const scores = random(k * cols, 2);
    const mask = new Uint8Array(k * cols);
    markNm(scores, mask, k, cols, { n: 2, m: 4 });
    // groups of 4, 4 and a partial 2 per column: 2 + 2 + 0 pruned
    assert.equal(sum(mask), cols * 4);
    const stored = Float32Array.from(scores, (s, i) => (mask[i] ? 0 : s));
    assert.equal(countNmViolations(stored, k, cols, true, { n: 2, m: 4 }), 0);
    assert.ok(countNmViolations(Float32Array.from(scores), k, cols, true, { n: 2, m: 4 }) > 0);
    // a ramp 4:4 -> 3:4 -> 2:4 nests
    const ramp = new Uint8Array(k * cols);
    for (let t = 1; t <= 2; t++) {
      const before = Uint8Array.from(ramp);
      markNm(scores, ramp, k, cols, rampPattern({ n: 2, m: 4 }, t, 2));
      before.forEach((m, i) => assert.ok(!m || ramp[i], 'stays pruned'));
    }
    assert.deepEqual(ramp, mask);
  });

  it('checks N:M in both stored layouts', () => {
    // [K=4, N=2] stored K-major: column 0 = 1,0,2,0 (2 non-zeros), column 1 = 1,1,1,0 (3)
    const kn = Float32Array.from([1, 1, 0, 1, 2, 1, 0, 0]);
    assert.equal(countNmViolations(kn, 4, 2, false, { n: 2, m: 4 }), 1);
    assert.equal(countNmViolations(kn, 4, 2, false, { n: 3, m: 4 }), 0);
    assert.equal(pruneCount(10, 0.25), 3);
  });
});
