/**
 * Activation ranges from calibration statistics: the [lo, hi] an 8-bit quantizer should cover.
 *   minmax      every observed value
 *   percentile  drops the most extreme (100 − p) % of the samples, half from each tail
 *   entropy     the clipping threshold whose 8-bit version of the |x| histogram is closest
 *               (Kullback–Leibler divergence) to the observed histogram, as in TensorRT's calibrator
 * Every range contains 0, so that a zero point represents 0 exactly (padding, masked positions). None of
 * them fails on degenerate data: all zeros, a constant, a handful of samples or a denormal spread give
 * the min/max range.
 */

export interface Range {
  readonly lo: number;
  readonly hi: number;
}

/**
 * Counts of signed values over [-limit, limit] in 2·B equal bins (bin B is [0, limit/B)); `min`/`max`
 * are the exact extremes seen.
 */
export interface SymmetricHistogram {
  readonly counts: Float64Array;
  readonly limit: number;
  readonly min: number;
  readonly max: number;
  /** Exact zeros among the samples (they are in bin B too); entropy leaves them out. */
  readonly zeros?: number;
}

/** [min, max] widened to contain 0; non-finite extremes (no data) give [0, 0]. */
export function minMaxRange(min: number, max: number): Range {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) return { lo: 0, hi: 0 };
  return { lo: Math.min(0, min), hi: Math.max(0, max) };
}

/**
 * Keeps `percentile` % of the samples. Symmetric: clips |x| at its percentile. Asymmetric: clips each tail
 * at (100 − p)/2 %. The result never leaves [min, max].
 */
export function percentileRange(h: SymmetricHistogram, percentile: number, symmetric: boolean): Range {
  const exact = minMaxRange(h.min, h.max);
  const total = sum(h.counts);
  if (percentile >= 100 || total === 0 || !usable(h)) return exact;
  const bins = h.counts.length / 2;
  const width = h.limit / bins;
  if (symmetric) {
    const abs = foldAbs(h.counts);
    const k = firstReaching(abs, (percentile / 100) * total);
    const t = (k + 1) * width;
    return clampTo(exact, -t, t);
  }
  const tail = ((100 - percentile) / 200) * total;
  const upper = firstReaching(h.counts, total - tail);
  const lower = lastReaching(h.counts, total - tail);
  return clampTo(exact, (lower - bins) * width, (upper + 1 - bins) * width);
}

/**
 * KL-optimal clipping. Symmetric (s8): one threshold T on |x| with 128 levels, range [-T, T]. Asymmetric
 * (u8): each sign gets its own threshold, searched with the share of the 255 steps that sign gets on the
 * u8 grid over [lo, hi] (shares from the min/max range, then once more from the thresholds found).
 * Exact zeros are left out: 0 is always represented exactly, and a spike of them (after Relu) would
 * otherwise favour small thresholds.
 */
export function entropyRange(h: SymmetricHistogram, symmetric: boolean): Range {
  const exact = minMaxRange(h.min, h.max);
  if (sum(h.counts) === 0 || !usable(h)) return exact;
  const bins = h.counts.length / 2;
  const width = h.limit / bins;
  const counts = h.counts.slice();
  counts[bins] = Math.max(0, counts[bins]! - (h.zeros ?? 0));
  if (symmetric) {
    const t = entropyThreshold(foldAbs(counts), width, 128);
    return clampTo(exact, -t, t);
  }
  const positive = counts.subarray(bins);
  const negative = counts.subarray(0, bins).reverse();
  let hi = exact.hi, lo = -exact.lo;
  for (let round = 0; round < 2; round++) {
    const share = hi / (hi + lo);
    const nextHi = hi > 0 ? entropyThreshold(positive, width, Math.max(1, Math.round(255 * share))) : 0;
    const nextLo = lo > 0 ? entropyThreshold(negative, width, Math.max(1, Math.round(255 * (1 - share)))) : 0;
    hi = Math.min(exact.hi, nextHi);
    lo = Math.min(-exact.lo, nextLo);
  }
  return { lo: -lo, hi };
}

/**
 * Threshold over a histogram of |x| (bin i = [i·width, (i+1)·width)) minimising KL(P ‖ Q) over cut points
 * from `levels` bins up: P is the histogram cut there with the clipped mass added to its last bin; Q is
 * the cut histogram without that mass, merged into `levels` equal groups and spread back evenly over each
 * group's non-empty bins. Where P has mass and Q none (the clipped mass landing in an empty bin), Q counts
 * as 1e-4. Ties go to the larger threshold. Fewer non-empty bins than levels: no clipping.
 */
export function entropyThreshold(abs: Float64Array, width: number, levels = 128): number {
  let last = abs.length - 1;
  while (last > 0 && abs[last] === 0) last--;
  if (last + 1 <= levels) return (last + 1) * width;
  const sums = prefixSums(abs.subarray(0, last + 1));
  let bestKl = Infinity;
  let best = last + 1;
  for (let cut = levels; cut <= last + 1; cut++) {
    const kl = divergence(abs, sums, cut, levels);
    if (kl <= bestKl + 1e-12) { bestKl = Math.min(bestKl, kl); best = cut; }
  }
  return best * width;
}

/** Running sums over the bins (index i = bins before i): mass, non-empty bins, Σ h·ln h. */
interface PrefixSums { readonly mass: Float64Array; readonly filled: Float64Array; readonly hLogH: Float64Array }

function prefixSums(h: Float64Array): PrefixSums {
  const n = h.length;
  const mass = new Float64Array(n + 1), filled = new Float64Array(n + 1), hLogH = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = h[i]!;
    mass[i + 1] = mass[i]! + v;
    filled[i + 1] = filled[i]! + (v > 0 ? 1 : 0);
    hLogH[i + 1] = hLogH[i]! + (v > 0 ? v * Math.log(v) : 0);
  }
  return { mass, filled, hLogH };
}

/**
 * KL(P ‖ Q) for one cut point (see entropyThreshold), in O(levels) from the running sums: within a group
 * every non-empty bin has the same q, so Σ p·ln(p/q) = (Σ h·ln h − Σ h·ln(total·q)) / total.
 */
function divergence(h: Float64Array, s: PrefixSums, cut: number, levels: number): number {
  const inside = s.mass[cut]!;
  const clipped = s.mass[s.mass.length - 1]! - inside;
  const total = inside + clipped;
  if (inside === 0) return Infinity;
  const lastBin = h[cut - 1]!;
  let kl = 0;
  for (let g = 0; g < levels; g++) {
    const start = Math.floor((g * cut) / levels);
    const end = Math.floor(((g + 1) * cut) / levels);
    let mass = s.mass[end]! - s.mass[start]!;
    const filled = s.filled[end]! - s.filled[start]!;
    let hLogH = s.hLogH[end]! - s.hLogH[start]!;
    const q = filled > 0 ? mass / filled / inside : 0;
    if (end === cut && lastBin > 0) { mass -= lastBin; hLogH -= lastBin * Math.log(lastBin); }
    if (mass > 0) kl += (hLogH - mass * Math.log(total * q)) / total;
    if (end === cut) {
      // The last bin also holds the clipped mass; an empty one has q = 1e-4.
      const p = (lastBin + clipped) / total;
      if (p > 0) kl += p * Math.log(p / (lastBin > 0 ? q : 1e-4));
    }
  }
  return kl;
}

/** Bin B+k and B−1−k (the two signs of |x| ∈ bin k) added: a histogram of |x| with B bins. */
export function foldAbs(counts: Float64Array): Float64Array {
  const bins = counts.length / 2;
  const abs = new Float64Array(bins);
  for (let k = 0; k < bins; k++) abs[k] = counts[bins + k]! + counts[bins - 1 - k]!;
  return abs;
}

/** A range that needs no histogram: nothing to clip, or bins too narrow to be meaningful. */
function usable(h: SymmetricHistogram): boolean {
  const width = h.limit / (h.counts.length / 2);
  return h.limit > 0 && Number.isFinite(h.limit) && width > 0 && Number.isFinite(h.counts.length / h.limit);
}

function clampTo(r: Range, lo: number, hi: number): Range {
  return { lo: Math.min(0, Math.max(r.lo, lo)), hi: Math.max(0, Math.min(r.hi, hi)) };
}

/** Smallest index whose running sum from the start reaches `target`. */
function firstReaching(counts: Float64Array, target: number): number {
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]!;
    if (acc >= target) return i;
  }
  return counts.length - 1;
}

/** Largest index whose running sum from the end reaches `target`. */
function lastReaching(counts: Float64Array, target: number): number {
  let acc = 0;
  for (let i = counts.length - 1; i >= 0; i--) {
    acc += counts[i]!;
    if (acc >= target) return i;
  }
  return 0;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}
