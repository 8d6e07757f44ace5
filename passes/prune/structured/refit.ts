/**
 * Refit of a consuming projection after its inputs were cut to the kept set S: the new rows W'_S minimize
 *   ‖X_S·W'_S − X·W‖² + λ‖W'_S − W_S‖²
 * over the calibration inputs X (dense model), so the layer's output stays the dense one as far as the kept
 * inputs can express it. With A = XᵀX the normal equations are (A_SS + λI)·W'_S = (A·W)_S + λ·W_S, one
 * system for every output column: solved directly through the factor U of (A_SS + λI)⁻¹ = UᵀU.
 */
import { dampedInverseFactor, ridgeValue } from '../../../src/math/least-squares.js';

/** New rows [|S| × N] for a logical [K × N] weight, from the mean Gram matrix of its input. */
export function refitRows(w: Float32Array, k: number, n: number, gram: Float64Array, keep: readonly number[], ridge: number): Float32Array {
  const s = keep.length;
  const sub = new Float64Array(s * s);
  keep.forEach((a, i) => keep.forEach((b, j) => { sub[i * s + j] = gram[a * k + b]!; }));
  const { u, fraction } = dampedInverseFactor(sub, s, ridge);
  const lambda = ridgeValue(sub, s, fraction);
  // B = (A·W)_S + λ·W_S, [s × n].
  const rhs = new Float64Array(s * n);
  keep.forEach((a, i) => {
    const row = rhs.subarray(i * n, (i + 1) * n);
    for (let p = 0; p < k; p++) {
      const g = gram[a * k + p]!;
      if (g === 0) continue;
      const base = p * n;
      for (let c = 0; c < n; c++) row[c]! += g * w[base + c]!;
    }
    for (let c = 0; c < n; c++) row[c]! += lambda * w[a * n + c]!;
  });
  return Float32Array.from(applyInverse(u, s, rhs, n));
}

/** (G + λI)⁻¹·B for a K×K Gram matrix G and B [K × N], λ a `ridge` fraction of G's mean diagonal. */
export function solveRidge(gram: Float64Array, k: number, rhs: Float64Array, n: number, ridge: number): Float64Array {
  return applyInverse(dampedInverseFactor(gram, k, ridge).u, k, rhs, n);
}

/** Uᵀ·(U·B) for U upper triangular [s × s] and B [s × n]. */
function applyInverse(u: Float64Array, s: number, rhs: Float64Array, n: number): Float64Array {
  const ub = new Float64Array(s * n);
  for (let i = 0; i < s; i++) {
    const out = ub.subarray(i * n, (i + 1) * n);
    for (let p = i; p < s; p++) {
      const x = u[i * s + p]!;
      if (x === 0) continue;
      const base = p * n;
      for (let c = 0; c < n; c++) out[c]! += x * rhs[base + c]!;
    }
  }
  const result = new Float64Array(s * n);
  for (let i = 0; i < s; i++) {
    const acc = result.subarray(i * n, (i + 1) * n);
    for (let p = 0; p <= i; p++) {
      const x = u[p * s + i]!;
      if (x === 0) continue;
      const base = p * n;
      for (let c = 0; c < n; c++) acc[c]! += x * ub[base + c]!;
    }
  }
  return result;
}
