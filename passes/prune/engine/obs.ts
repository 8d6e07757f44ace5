/**
 * SparseGPT (Frantar & Alistarh, 2023): one-shot pruning with Optimal Brain Surgeon updates. Inputs are
 * visited in order; pruning weight i of an output column removes w_i and spreads the loss over the inputs
 * not yet visited, w_j −= (w_i / U_ii)·U_ij, with U the upper Cholesky factor of (XᵀX + λI)⁻¹, so the
 * layer's output on the calibration inputs moves as little as possible. Work goes in blocks of B inputs:
 * inside a block updates are immediate, the inputs after it receive the block's errors at once.
 *
 * Masks are chosen as the visit goes, from the weights as updated so far. With the inputs before i fixed,
 * the remaining problem's inverse Hessian is UᵀU restricted to inputs ≥ i (U is upper triangular), so:
 *   unstructured  when a block starts at i: its quota of lowest saliencies w_j²/[H⁻¹]_jj over the block's
 *                 inputs and all outputs, [H⁻¹]_jj = Σ_{p=i..j} U_pj² (blocks get quotas in proportion to
 *                 their unpruned weights, so a layer's total is exact);
 *   N:M           when a group G of M inputs starts: per output, the set P of M − N inputs whose joint
 *                 removal costs least, w_Pᵀ([H⁻¹]_PP)⁻¹w_P with [H⁻¹]_GG = U_GGᵀU_GG: exact for the group
 *                 (the diagonal saliency of each weight alone is used when there are too many subsets).
 */
import { distribute, markLowest, markLowestPerGroup, markNm, type NmPattern } from '../../../src/math/sparsity.js';

export type ObsTarget = { readonly kind: 'count'; readonly total: number } | { readonly kind: 'pattern'; readonly pattern: NmPattern };

export interface ObsProblem {
  readonly k: number;
  readonly columns: number;
  /** Upper Cholesky factor of the damped inverse Hessian, K×K, inputs in natural order. */
  readonly u: Float64Array;
  /** [N][K], updated in place. */
  readonly weights: Float64Array;
  /** 1 = pruned; entries already set stay pruned. */
  readonly mask: Uint8Array;
  readonly target: ObsTarget;
  readonly blockSize: number;
  /** Unstructured: every output gets its share of a block's quota (off: one ranking over the block). */
  readonly perOutput: boolean;
}

export function obsPrune(p: ObsProblem): void {
  const { k, columns: n, u, weights: w, mask, target } = p;
  const m = target.kind === 'pattern' ? target.pattern.m : 1;
  const bs = Math.max(m, Math.floor(p.blockSize / m) * m);
  const blocks = Math.ceil(k / bs);
  const quotas = target.kind === 'count' ? blockQuotas(mask, k, n, bs, blocks, target.total) : undefined;
  const err = new Float64Array(n * bs);
  for (let b = 0; b < blocks; b++) {
    const i1 = b * bs;
    const i2 = Math.min(k, i1 + bs);
    if (quotas) selectInBlock(p, i1, i2, quotas[b]!);
    for (let i = i1; i < i2; i++) {
      if (target.kind === 'pattern' && (i - i1) % m === 0) selectGroups(p, i, Math.min(k, i + m), target.pattern);
      const ri = i * k;
      const d = u[ri + i]!;
      for (let c = 0; c < n; c++) {
        const base = c * k;
        const e = mask[base + i] ? w[base + i]! / d : 0;
        err[c * bs + i - i1] = e;
        if (e === 0) continue;
        w[base + i] = 0;
        for (let j = i + 1; j < i2; j++) w[base + j]! -= e * u[ri + j]!;
      }
    }
    if (i2 < k) lazyUpdate(w, err, u, k, n, bs, i1, i2);
  }
  for (let i = 0; i < w.length; i++) if (mask[i]) w[i] = 0;
}

/** The inputs after the block receive the block's accumulated errors. */
function lazyUpdate(w: Float64Array, err: Float64Array, u: Float64Array, k: number, n: number, bs: number, i1: number, i2: number): void {
  for (let c = 0; c < n; c++) {
    const base = c * k;
    for (let t = i1; t < i2; t++) {
      const e = err[c * bs + t - i1]!;
      if (e === 0) continue;
      const rt = t * k;
      for (let j = i2; j < k; j++) w[base + j]! -= e * u[rt + j]!;
    }
  }
}

/** Additional prunes per block, in proportion to the unpruned weights each block still has. */
function blockQuotas(mask: Uint8Array, k: number, n: number, bs: number, blocks: number, total: number): Int32Array {
  const free = new Float64Array(blocks);
  let pruned = 0;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < k; i++) {
      if (mask[c * k + i]) pruned++;
      else free[Math.floor(i / bs)]! += 1;
    }
  }
  return distribute(Math.max(0, total - pruned), free);
}

function selectInBlock(p: ObsProblem, i1: number, i2: number, quota: number): void {
  const { k, columns: n, u, weights: w, mask } = p;
  const len = i2 - i1;
  const scores = new Float64Array(n * len);
  const picked = new Uint8Array(n * len);
  const diag = trailingDiagonal(u, k, i1, i2);
  for (let c = 0; c < n; c++) {
    for (let i = i1; i < i2; i++) {
      const at = c * k + i;
      scores[c * len + i - i1] = mask[at] ? Infinity : (w[at]! * w[at]!) / diag[i - i1]!;
    }
  }
  if (p.perOutput) {
    const free = new Float64Array(n);
    for (let c = 0; c < n; c++) for (let i = i1; i < i2; i++) if (!mask[c * k + i]) free[c]! += 1;
    markLowestPerGroup(scores, picked, len, distribute(quota, free));
  } else {
    markLowest(scores, picked, 0, scores.length, quota);
  }
  for (let c = 0; c < n; c++) for (let i = i1; i < i2; i++) if (picked[c * len + i - i1]) p.mask[c * k + i] = 1;
}

/** [H⁻¹]_jj of the problem that starts at input i1, for j in [i1, i2): Σ_{p=i1..j} U_pj². */
function trailingDiagonal(u: Float64Array, k: number, i1: number, i2: number): Float64Array {
  const d = new Float64Array(i2 - i1);
  for (let p = i1; p < i2; p++) for (let j = p; j < i2; j++) d[j - i1]! += u[p * k + j]! * u[p * k + j]!;
  return d;
}

/** Subsets of more than this many candidates fall back to per-weight saliencies. */
const MAX_SUBSETS = 512;

function selectGroups(p: ObsProblem, g1: number, g2: number, pattern: NmPattern): void {
  const len = g2 - g1;
  const prune = len - Math.min(pattern.n, len);
  if (prune <= 0) return;
  const subsets = combinations(len, prune);
  if (subsets.length > MAX_SUBSETS) { selectGroupsByDiagonal(p, g1, g2, pattern); return; }
  const { k, columns: n, u, weights: w, mask } = p;
  const inverse = groupInverse(u, k, g1, g2);
  // ([H⁻¹]_PP)⁻¹ of every subset: the same for all outputs.
  const forms = subsets.map((set) => invertSmall(set.map((a) => set.map((b) => inverse[a * len + b]!))));
  const bits = subsets.map((set) => set.reduce((b, i) => b | (1 << i), 0));
  const x = new Float64Array(prune);
  for (let c = 0; c < n; c++) {
    const base = c * k + g1;
    let forced = 0;
    for (let i = 0; i < len; i++) if (mask[base + i]) forced |= 1 << i;
    let best = -1;
    let bestCost = Infinity;
    subsets.forEach((set, s) => {
      if ((bits[s]! & forced) !== forced) return;
      for (let a = 0; a < prune; a++) x[a] = w[base + set[a]!]!;
      const f = forms[s]!;
      let cost = 0;
      for (let a = 0; a < prune; a++) for (let b = 0; b < prune; b++) cost += x[a]! * f[a * prune + b]! * x[b]!;
      if (cost < bestCost) { bestCost = cost; best = s; }
    });
    // More forced entries than the step prunes (a ramp never does this): keep them all pruned.
    if (best < 0) continue;
    for (const i of subsets[best]!) mask[base + i] = 1;
  }
}

/** [H⁻¹]_GG = U_GGᵀU_GG for the problem that starts at g1, row-major len×len. */
function groupInverse(u: Float64Array, k: number, g1: number, g2: number): Float64Array {
  const len = g2 - g1;
  const out = new Float64Array(len * len);
  for (let a = 0; a < len; a++) {
    for (let b = 0; b < len; b++) {
      let v = 0;
      for (let q = g1; q <= g1 + Math.min(a, b); q++) v += u[q * k + g1 + a]! * u[q * k + g1 + b]!;
      out[a * len + b] = v;
    }
  }
  return out;
}

/** Inverse of a small symmetric positive definite matrix (Gauss-Jordan), row-major. */
function invertSmall(rows: number[][]): Float64Array {
  const n = rows.length;
  const m = rows.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const pivot = m[c]![c]!;
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return Float64Array.from(m.flatMap((r) => r.slice(n)));
}

/** All subsets of size r of 0..n-1, or a longer list than MAX_SUBSETS (enough to refuse). */
function combinations(n: number, r: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, acc: number[]) => {
    if (out.length > MAX_SUBSETS) return;
    if (acc.length === r) { out.push([...acc]); return; }
    for (let i = start; i <= n - (r - acc.length); i++) { acc.push(i); pick(i + 1, acc); acc.pop(); }
  };
  pick(0, []);
  return out;
}

function selectGroupsByDiagonal(p: ObsProblem, g1: number, g2: number, pattern: NmPattern): void {
  const { k, columns: n, u, weights: w } = p;
  const len = g2 - g1;
  const diag = trailingDiagonal(u, k, g1, g2);
  const scores = new Float64Array(n * len);
  const mask = new Uint8Array(n * len);
  for (let c = 0; c < n; c++) {
    for (let i = g1; i < g2; i++) {
      const at = c * k + i;
      scores[c * len + i - g1] = (w[at]! * w[at]!) / diag[i - g1]!;
      mask[c * len + i - g1] = p.mask[at]!;
    }
  }
  markNm(scores, mask, len, n, pattern);
  for (let c = 0; c < n; c++) for (let i = g1; i < g2; i++) if (mask[c * len + i - g1]) p.mask[c * k + i] = 1;
}
