/**
 * Reconstruction of a pruned layer: its kept weights (and its bias, which is never pruned) are refit by
 * ridge least squares so that its output on the calibration inputs matches the dense layer's output on the
 * same inputs (src/math/least-squares.ts). With a bias, the system is the Gram matrix of [X, 1]:
 *   [ XᵀX  Xᵀ1 ]
 *   [ 1ᵀX  rows ]
 */
import type { LayerState } from './method.js';
import type { ProductFactory } from './products.js';
import { addRidge, refitOnSupport, type RefitResult } from '../../../src/math/least-squares.js';
import { augment } from './factors.js';

export interface BiasPair {
  readonly dense: Float64Array;
  /** Refit in place. */
  readonly current: Float64Array;
}

export interface ReconstructOptions {
  readonly ridge: number;
  readonly iterations: number;
}

export async function reconstructLayer(state: LayerState, bias: BiasPair | undefined, o: ReconstructOptions, products: ProductFactory): Promise<RefitResult> {
  const { k, columns: n, stats } = state;
  if (!stats?.gram) throw new RangeError('reconstruction needs XᵀX of the layer input');
  const withBias = bias !== undefined && stats.sums !== undefined && stats.rows > 0;
  const kk = withBias ? k + 1 : k;
  const a = addRidge(withBias ? augment(stats.gram, k, stats.sums!, stats.sums!, stats.rows) : stats.gram, kk, o.ridge);
  // Scale to a unit mean diagonal: float32 products stay well inside their range; the minimiser is the same.
  let mean = 0;
  for (let i = 0; i < kk; i++) mean += a[i * kk + i]!;
  mean = mean / kk || 1;
  for (let i = 0; i < a.length; i++) a[i]! /= mean;
  const diagonal = Float64Array.from({ length: kk }, (_, i) => a[i * kk + i]!);
  const target = new Float64Array(n * kk);
  const weights = new Float64Array(n * kk);
  const mask = new Uint8Array(n * kk);
  for (let c = 0; c < n; c++) {
    target.set(state.dense.subarray(c * k, c * k + k), c * kk);
    weights.set(state.weights.subarray(c * k, c * k + k), c * kk);
    mask.set(state.mask.subarray(c * k, c * k + k), c * kk);
    if (withBias) { target[c * kk + k] = bias.dense[c]!; weights[c * kk + k] = bias.current[c]!; }
  }
  const result = await refitOnSupport({
    k: kk, columns: n, product: products.create(a, kk, n), diagonal, target, weights, mask, iterations: o.iterations,
  });
  for (let c = 0; c < n; c++) {
    state.weights.set(weights.subarray(c * kk, c * kk + k), c * k);
    if (withBias) bias.current[c] = weights[c * kk + k]!;
  }
  return result;
}
