/**
 * The ridge of a refit, chosen from the calibration rows themselves: the rows are split in two parts (fit,
 * held out); the kept rows are refit on the fit part with each candidate λ fraction, and the candidate whose
 * refit W' reproduces the dense output best on the held-out part wins:
 *   error(λ) = tr((W' − W)ᵀ · G_held · (W' − W)),   W' zero on the removed rows
 * Too small a λ fits the noise of the fit rows, too large a λ keeps W' from compensating the removed inputs;
 * the best value differs between layers and models, so it is measured rather than fixed.
 */
import { refitRows } from './refit.js';

export const RIDGE_CANDIDATES: readonly number[] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];

/** Gram matrices of the two parts of the calibration rows (means over each part's rows). */
export interface GramSplit {
  readonly fit: Float64Array;
  readonly held: Float64Array;
}

export interface RidgeChoice {
  readonly ridge: number;
  /** Held-out error per candidate, relative to the dense output energy on the held-out rows. */
  readonly errors: readonly number[];
}

/** The candidate with the least held-out error for refitting the `keep` rows of W [K × N]. */
export function heldOutRidge(w: Float32Array, k: number, n: number, split: GramSplit, keep: readonly number[], candidates = RIDGE_CANDIDATES): RidgeChoice {
  const energy = quadratic(split.held, k, n, w);
  const errors = candidates.map((ridge) => {
    const rows = refitRows(w, k, n, split.fit, keep, ridge);
    const delta = Float64Array.from(w, (x) => -x);
    keep.forEach((r, i) => { for (let c = 0; c < n; c++) delta[r * n + c]! += rows[i * n + c]!; });
    return quadratic(split.held, k, n, delta) / (energy > 0 ? energy : 1);
  });
  let best = 0;
  errors.forEach((e, i) => { if (e < errors[best]!) best = i; });
  return { ridge: candidates[best]!, errors };
}

/** tr(DᵀGD) for D [K × N]. */
function quadratic(g: Float64Array, k: number, n: number, d: ArrayLike<number>): number {
  const gd = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < k; i++) {
    gd.fill(0);
    for (let p = 0; p < k; p++) {
      const x = g[i * k + p]!;
      if (x === 0) continue;
      const base = p * n;
      for (let c = 0; c < n; c++) gd[c]! += x * d[base + c]!;
    }
    const base = i * n;
    for (let c = 0; c < n; c++) total += d[base + c]! * gd[c]!;
  }
  return total;
}
