/**
 * Sparsity masks for pruning: exact-count selection of the lowest scores (per layer, per group, per N:M
 * group), sparsity patterns, schedules and checks of stored weights.
 *
 * Layout: a layer's weight is handled as N output columns of K input values ([N][K], column c's K values
 * contiguous). A mask holds 1 for a pruned weight. N:M groups are M consecutive input (K) positions of one
 * output column: the layout sparse tensor cores need (for a weight stored [N, K], M contiguous elements of a
 * row).
 */
import { kthSmallest } from './select.js';

export interface NmPattern {
  /** Non-zeros kept per group, at most. */
  readonly n: number;
  /** Group size along K. */
  readonly m: number;
}

/** "2:4" -> { n: 2, m: 4 }; RangeError unless 1 ≤ N ≤ M ≤ 256. */
export function parsePattern(text: string): NmPattern {
  const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  if (!match) throw new RangeError(`pattern '${text}' is not N:M (for example 2:4)`);
  const n = Number(match[1]);
  const m = Number(match[2]);
  if (m < 1 || m > 256) throw new RangeError(`pattern ${n}:${m}: M must be between 1 and 256`);
  if (n < 1 || n > m) throw new RangeError(`pattern ${n}:${m}: N must be between 1 and M`);
  return { n, m };
}

/** Fraction of zeros a pattern gives on whole groups. */
export function patternSparsity(p: NmPattern): number {
  return (p.m - p.n) / p.m;
}

/** Weights to prune for a fraction of a total: the nearest whole number. */
export function pruneCount(total: number, sparsity: number): number {
  return Math.round(total * sparsity);
}

/** Sparsity reached after `step` of `steps` equal increments (a linear ramp). */
export function rampSparsity(sparsity: number, step: number, steps: number): number {
  return (sparsity * step) / steps;
}

/** Non-zeros per group after `step` of `steps`, from M down to N. */
export function rampPattern(p: NmPattern, step: number, steps: number): NmPattern {
  return { n: p.m - Math.round(((p.m - p.n) * step) / steps), m: p.m };
}

/**
 * Splits `total` over groups in proportion to `weights`, rounding cumulatively so the parts add up to
 * exactly `total`; a part never exceeds its weight when total ≤ Σ weights.
 */
export function distribute(total: number, weights: ArrayLike<number>): Int32Array {
  const out = new Int32Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i]!;
  if (sum <= 0) return out;
  let acc = 0;
  let given = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    const upto = Math.round((total * acc) / sum);
    out[i] = upto - given;
    given = upto;
  }
  return out;
}

/** Marks the `count` lowest scores of `scores[start, end)` in `mask` (ties: lower index first). */
export function markLowest(scores: ArrayLike<number>, mask: Uint8Array, start: number, end: number, count: number): void {
  if (count <= 0) return;
  const len = end - start;
  if (count >= len) { mask.fill(1, start, end); return; }
  const copy = new Float64Array(len);
  // NaN scores rank last, as in a sorted order.
  for (let i = 0; i < len; i++) { const s = scores[start + i]!; copy[i] = Number.isNaN(s) ? Infinity : s; }
  const threshold = kthSmallest(copy, count - 1);
  let below = 0;
  for (let i = start; i < end; i++) if (scores[i]! < threshold) below++;
  let ties = count - below;
  for (let i = start; i < end; i++) {
    const s = scores[i]!;
    if (s < threshold) mask[i] = 1;
    else if (s === threshold && ties > 0) { mask[i] = 1; ties--; }
  }
}

/**
 * Selects `quotas[g]` more weights to prune in each group g of `groupSize` consecutive entries, lowest
 * scores first; entries already in `mask` stay pruned and are not counted.
 */
export function markLowestPerGroup(scores: ArrayLike<number>, mask: Uint8Array, groupSize: number, quotas: ArrayLike<number>): void {
  const free = new Float64Array(groupSize);
  const picked = new Uint8Array(groupSize);
  for (let g = 0; g < quotas.length; g++) {
    const start = g * groupSize;
    const end = Math.min(mask.length, start + groupSize);
    for (let i = start; i < end; i++) free[i - start] = mask[i] ? Infinity : scores[i]!;
    picked.fill(0);
    markLowest(free, picked, 0, end - start, quotas[g]!);
    for (let i = start; i < end; i++) if (picked[i - start]) mask[i] = 1;
  }
}

/**
 * N:M selection on [N][K] scores: in every group of M consecutive K positions of each column, keeps the N
 * highest scores (a last partial group of r < M positions keeps min(N, r)). Already pruned entries stay
 * pruned and are preferred, so a ramp of patterns (4:4, 3:4, 2:4) nests.
 */
export function markNm(scores: ArrayLike<number>, mask: Uint8Array, k: number, columns: number, p: NmPattern): void {
  const group = new Float64Array(p.m);
  const picked = new Uint8Array(p.m);
  for (let c = 0; c < columns; c++) {
    for (let g = 0; g < k; g += p.m) {
      const start = c * k + g;
      const len = Math.min(p.m, k - g);
      const prune = len - Math.min(p.n, len);
      if (prune <= 0) continue;
      for (let i = 0; i < len; i++) group[i] = mask[start + i] ? -Infinity : scores[start + i]!;
      picked.fill(0);
      markLowest(group, picked, 0, len, prune);
      for (let i = 0; i < len; i++) if (picked[i]) mask[start + i] = 1;
    }
  }
}

/** Counts zeros (and negative zeros) in a float array. */
export function countZeros(values: ArrayLike<number>): number {
  let zeros = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) zeros++;
  return zeros;
}

/**
 * Groups of M consecutive K positions with more than N non-zeros, in a weight stored [K, N] (MatMul) or,
 * `transposed`, [N, K] (Gemm transB=1, or a MatMul weight behind a Transpose).
 */
export function countNmViolations(w: ArrayLike<number>, k: number, n: number, transposed: boolean, p: NmPattern): number {
  let bad = 0;
  for (let c = 0; c < n; c++) {
    for (let g = 0; g < k; g += p.m) {
      const end = Math.min(k, g + p.m);
      let nonzero = 0;
      for (let i = g; i < end; i++) if ((transposed ? w[c * k + i] : w[i * n + c]) !== 0) nonzero++;
      if (nonzero > p.n) bad++;
    }
  }
  return bad;
}
