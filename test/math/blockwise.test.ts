/** Blockwise 4-bit quantization against a plain reference: Math.round codes, and the clipping search's choices. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIP_GRID, columnReader, quantizeBlockwise } from '../../src/math/blockwise.js';
import { mulberry32 } from '../../src/runtime/feeds.js';

/** Every ratio evaluated in full on one block; the first of least error wins. */
function referenceSearch(values: number[], bits: number, symmetric: boolean): { scale: number; zeroPoint: number } {
  const qmax = (1 << bits) - 1, mid = 1 << (bits - 1);
  const lo = Math.min(0, ...values), hi = Math.max(0, ...values);
  let extreme = 0;
  for (const v of values) if (Math.abs(v) > Math.abs(extreme)) extreme = v;
  let best = { scale: NaN, zeroPoint: 0 }, bestError = Infinity;
  for (const ratio of CLIP_GRID) {
    let scale: number, zeroPoint: number;
    if (symmetric) {
      scale = Math.fround((extreme === 0 ? 1 : Math.fround(extreme / -mid)) * ratio);
      zeroPoint = mid;
    } else if (hi === lo) {
      [scale, zeroPoint] = [1, 0];
    } else {
      scale = Math.fround(((hi - lo) * ratio) / qmax);
      zeroPoint = Math.min(qmax, Math.max(0, Math.round((-lo * ratio) / scale)));
    }
    let error = 0;
    for (const v of values) error += ((Math.min(qmax, Math.max(0, Math.round(v / scale) + zeroPoint)) - zeroPoint) * scale - v) ** 2;
    if (error < bestError) { bestError = error; best = { scale, zeroPoint }; }
  }
  return best;
}

describe('quantizeBlockwise', () => {
  it('rounds halves up, as Math.round does (scale 1: the largest magnitude is -8)', () => {
    const values = Float32Array.from([-8, -3.5, -2.5, -1.5, -0.5, -0, 0.5, 1.5, 2.5, 3.5, 6.5, -7.5, 0.25, -0.25, 0.75, -0.75]);
    const q = quantizeBlockwise(columnReader(values, values.length, 1, false), values.length, 1, { bits: 4, blockSize: 16, symmetric: true });
    assert.equal(q.scales[0], 1);
    assert.deepEqual([...q.codes], [...values].map((v) => Math.min(15, Math.max(0, Math.round(v) + 8))));
  });

  for (const symmetric of [true, false]) {
    it(`${symmetric ? 'symmetric' : 'asymmetric'} 4-bit: searched parameters and codes match the reference`, () => {
      const [k, n, blockSize] = [96, 24, 32];
      const rand = mulberry32(symmetric ? 5 : 6);
      // Heavy-tailed, and with exact halves of a step in places so that rounding ties occur.
      const w = Float32Array.from({ length: k * n }, (_, i) => (i % 29 === 0 ? (i % 7) - 3.5 : (rand() - 0.5) * (rand() < 0.05 ? 9 : 1)));
      const q = quantizeBlockwise(columnReader(w, k, n, false), k, n, { bits: 4, blockSize, symmetric, searchScale: true });
      const plain = quantizeBlockwise(columnReader(w, k, n, false), k, n, { bits: 4, blockSize, symmetric });
      let clipped = 0;
      for (let col = 0; col < n; col++) {
        for (let b = 0; b < k / blockSize; b++) {
          const values = Array.from({ length: blockSize }, (_, i) => w[(b * blockSize + i) * n + col]!);
          const want = referenceSearch(values, 4, symmetric);
          const at = col * q.blocks + b;
          assert.equal(q.scales[at], want.scale, `column ${col} block ${b} scale`);
          assert.equal(q.zeroPoints[at], want.zeroPoint, `column ${col} block ${b} zero point`);
          values.forEach((v, i) => {
            const code = Math.min(15, Math.max(0, Math.round(v / want.scale) + want.zeroPoint));
            assert.equal(q.codes[col * q.blocks * blockSize + b * blockSize + i], code, `column ${col} value ${b * blockSize + i}`);
          });
          if (q.scales[at] !== plain.scales[at]) clipped++;
        }
      }
      assert.ok(clipped > 0, 'some block is clipped');
    });
  }
});
