/**
 * The factor U of (H + λI)⁻¹ = UᵀU for one layer input, computed once and shared by the layers reading it
 * and by the steps that need it (SparseGPT's updates, error correction). H is XᵀX, or with a bias the Gram
 * matrix of [X, 1]:
 *   [ XᵀX  Xᵀ1 ]
 *   [ 1ᵀX  rows ]
 */
import { dampedInverseFactor } from '../../../src/math/least-squares.js';
import type { InputStatistics } from './statistics.js';

export interface Factor {
  /** K (K + 1 with the bias row). */
  readonly k: number;
  readonly u: Float64Array;
  /** The damping actually added (raised while the factorization failed). */
  readonly lambda: number;
}

const cache = new WeakMap<InputStatistics, Map<string, Factor>>();

export function factorOf(stats: InputStatistics, ridge: number, withBias: boolean): Factor {
  const key = `${ridge}:${withBias}`;
  const mine = cache.get(stats) ?? new Map<string, Factor>();
  cache.set(stats, mine);
  const known = mine.get(key);
  if (known) return known;
  if (!stats.gram) throw new RangeError('no XᵀX for this input');
  const h = withBias ? augment(stats.gram, stats.k, stats.sums!, stats.sums!, stats.rows) : stats.gram;
  const k = withBias ? stats.k + 1 : stats.k;
  const { u, lambda } = dampedInverseFactor(h, k, Math.max(ridge, 1e-6));
  const factor = { k, u, lambda };
  mine.set(key, factor);
  return factor;
}

/** [[M, col], [rowᵀ, rows]]: the Gram matrix of [A, 1] and [B, 1] from M = AᵀB, col = Aᵀ1, row = Bᵀ1. */
export function augment(m: Float64Array, k: number, col: Float64Array, row: Float64Array, rows: number): Float64Array {
  const kk = k + 1;
  const out = new Float64Array(kk * kk);
  for (let i = 0; i < k; i++) {
    out.set(m.subarray(i * k, i * k + k), i * kk);
    out[i * kk + k] = col[i]!;
    out[k * kk + i] = row[i]!;
  }
  out[k * kk + k] = rows;
  return out;
}
