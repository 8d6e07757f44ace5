import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addRidge, dampedInverseFactor, inverseDiagonal, inverseFactor, jsProduct, refitOnSupport,
} from '../../../src/math/least-squares.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';

/** XᵀX of `rows` random rows of K values, with one channel 10× larger (an outlier). */
function gram(rows: number, k: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const h = new Float64Array(k * k);
  const x = new Float64Array(k);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < k; i++) x[i] = (r() - 0.5) * (i === 1 ? 10 : 1) + (i === 2 ? x[0]! : 0);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j]! += x[i]! * x[j]!;
  }
  return h;
}

/** Dense solve of A_SS·w_S = b_S by Gaussian elimination (reference). */
function solveOnSupport(a: Float64Array, k: number, b: Float64Array, keep: number[]): Float64Array {
  const s = keep.length;
  const m = keep.map((i) => [...keep.map((j) => a[i * k + j]!), b[i]!]);
  for (let c = 0; c < s; c++) {
    for (let r = c + 1; r < s; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= s; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const w = new Float64Array(s);
  for (let r = s - 1; r >= 0; r--) {
    let v = m[r]![s]!;
    for (let j = r + 1; j < s; j++) v -= m[r]![j]! * w[j]!;
    w[r] = v / m[r]![r]!;
  }
  return w;
}

describe('least squares', () => {
  it('conjugate gradients reach the ridge least-squares solution on each column\'s support', async () => {
    const k = 12;
    const cols = 3;
    const a = addRidge(gram(200, k, 1), k, 0.01);
    const r = mulberry32(7);
    const target = Float64Array.from({ length: k * cols }, () => r() - 0.5);
    const mask = Uint8Array.from({ length: k * cols }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const weights = Float64Array.from(target, (v, i) => (mask[i] ? 0 : v));
    const diagonal = Float64Array.from({ length: k }, (_, i) => a[i * k + i]!);
    const result = await refitOnSupport({ k, columns: cols, product: jsProduct(a, k), diagonal, target, weights, mask, iterations: 100, tolerance: 1e-10, measure: true });
    assert.ok(result.after! < result.before, `objective ${result.before} -> ${result.after}`);
    for (let c = 0; c < cols; c++) {
      const keep = [...Array(k).keys()].filter((i) => !mask[c * k + i]);
      // b = A·w⁰ restricted to the support
      const b = new Float64Array(k);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) b[i]! += a[i * k + j]! * target[c * k + j]!;
      const exact = solveOnSupport(a, k, b, keep);
      keep.forEach((i, s) => assert.ok(Math.abs(weights[c * k + i]! - exact[s]!) < 1e-4, `column ${c} input ${i}: ${weights[c * k + i]} vs ${exact[s]}`));
      for (let i = 0; i < k; i++) if (mask[c * k + i]) assert.equal(weights[c * k + i], 0);
    }
  });

  it('the inverse factor satisfies A⁻¹ = UᵀU', () => {
    const k = 9;
    const a = addRidge(gram(50, k, 3), k, 0.01);
    const u = inverseFactor(a, k)!;
    const diag = inverseDiagonal(u, k);
    // (UᵀU)·A = I
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let v = 0;
        for (let p = 0; p < k; p++) {
          let inv = 0;
          for (let q = 0; q <= Math.min(i, p); q++) inv += u[q * k + i]! * u[q * k + p]!;
          v += inv * a[p * k + j]!;
        }
        assert.ok(Math.abs(v - (i === j ? 1 : 0)) < 1e-8, `(${i},${j}) = ${v}`);
      }
      for (let p = 0; p < i; p++) assert.equal(u[i * k + p], 0, 'upper triangular');
    }
    assert.ok(diag.every((d) => d > 0));
    assert.equal(inverseFactor(Float64Array.from([1, 2, 2, 1]), 2), undefined, 'indefinite');
  });

  it('damping rescues a singular XᵀX', () => {
    const k = 6;
    const h = gram(3, k, 4); // rank 3
    h.fill(0, 5 * k, 6 * k); // a dead input
    for (let i = 0; i < k; i++) h[i * k + 5] = 0;
    const { u, fraction } = dampedInverseFactor(h, k, 0);
    assert.ok(fraction > 0);
    assert.ok(u.every(Number.isFinite));
  });
});
