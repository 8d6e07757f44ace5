/**
 * GPTQ (Frantar et al., 2022): quantizes a linear layer's weight one input row at a time and spreads each
 * rounding error over the rows not yet quantized, weighted by the inverse Hessian H = 2·XᵀX of the layer's
 * inputs, so that the layer's output error ‖X·W − X·Ŵ‖² stays small rather than the weight error.
 *
 * Notation: the weight has K input rows and N output columns; column n of the weight is what the blockwise
 * quantizer calls a column (K values, blocks along K). Blocks keep the blockwise layout of round-to-nearest
 * (same scale/zero-point rules), so the result packs through the same emitters.
 */
import { blockParams, searchBlockParams, type BlockwiseOptions, type BlockwiseWeight } from './blockwise.js';
import { inverseCholeskyUpper, subtractScaled } from './linalg.js';

export interface GptqOptions {
  /** Added to the Hessian's diagonal, as a fraction of the diagonal's mean. */
  readonly percdamp: number;
  /** Visit input rows by decreasing Hessian diagonal (most active inputs first). */
  readonly actOrder: boolean;
}

/** What GPTQ needs from one input's Hessian; layers that read the same input share it. */
export interface PreparedHessian {
  readonly k: number;
  /** order[i] = the input row visited i-th. */
  readonly order: Int32Array;
  /** Inputs that were zero on all calibration data: their weights cannot matter and are set to 0. */
  readonly dead: Uint8Array;
  /** Upper Cholesky factor of the damped inverse Hessian, rows and columns in visiting order. */
  readonly u: Float64Array;
  /** The damping actually used (raised tenfold while the matrix was not positive definite). */
  readonly percdamp: number;
}

/** Damps, orders and factors a Hessian (any positive multiple of XᵀX: GPTQ's updates are scale-free). */
export function prepareHessian(h: Float64Array, k: number, o: GptqOptions): PreparedHessian {
  const dead = new Uint8Array(k);
  const diag = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    diag[i] = h[i * k + i]!;
    if (diag[i] === 0) { dead[i] = 1; diag[i] = 1; }
  }
  const order = Int32Array.from({ length: k }, (_, i) => i);
  if (o.actOrder) order.sort((a, b) => diag[b]! - diag[a]! || a - b);
  let mean = 0;
  for (let i = 0; i < k; i++) mean += diag[i]!;
  mean /= k;
  const permuted = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const src = order[i]! * k;
    for (let j = 0; j < k; j++) permuted[i * k + j] = i === j ? diag[order[i]!]! : h[src + order[j]!]!;
  }
  let percdamp = o.percdamp;
  for (let attempt = 0; attempt < 8; attempt++) {
    const damped = Float64Array.from(permuted);
    for (let i = 0; i < k; i++) damped[i * k + i]! += percdamp * mean;
    const u = inverseCholeskyUpper(damped, k);
    if (u) return { k, order, dead, u, percdamp };
    percdamp = percdamp > 0 ? percdamp * 10 : 1e-4;
  }
  throw new RangeError('GPTQ: the Hessian stays indefinite after damping (non-finite calibration activations?)');
}

/**
 * Quantizes N columns of K values (`read(n, out)` fills column n) against a prepared Hessian.
 * With act-order, block scales come from the original weights in original K order ("static groups"), so the
 * blockwise layout stays valid whatever the visiting order; otherwise each block's scale is chosen when the
 * visit reaches it, from the weights as updated so far.
 */
export function gptqQuantize(
  read: (col: number, out: Float32Array) => void, k: number, n: number, hessian: PreparedHessian,
  o: BlockwiseOptions, batchColumns = 128,
): BlockwiseWeight {
  const { order, dead, u } = hessian;
  if (hessian.k !== k) throw new RangeError(`GPTQ: Hessian is ${hessian.k}×${hessian.k}, weight has K=${k}`);
  const bs = o.blockSize;
  const blocks = Math.ceil(k / bs);
  const padded = blocks * bs;
  const codes = new Uint8Array(n * padded);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * blocks);
  const params = o.searchScale ? searchBlockParams : blockParams;
  const staticGroups = order.some((v, i) => v !== i);
  // w[c][i] = weight of column c at the i-th visited row.
  const w = new Float64Array(n * k);
  const column = new Float32Array(k);
  for (let c = 0; c < n; c++) {
    read(c, column);
    for (let i = 0; i < k; i++) if (dead[i]) column[i] = 0;
    for (let i = 0; i < k; i++) w[c * k + i] = column[order[i]!]!;
    if (staticGroups) {
      for (let b = 0; b < blocks; b++) setParams(c, b, column.subarray(b * bs, Math.min(k, (b + 1) * bs)));
    }
  }
  function setParams(c: number, b: number, values: Float32Array): void {
    const p = params(values, o.bits, o.symmetric);
    scales[c * blocks + b] = p.scale;
    zeroPoints[c * blocks + b] = p.zeroPoint;
  }
  const qmax = (1 << o.bits) - 1;
  const batch = Math.max(1, batchColumns);
  const err = new Float64Array(n * batch);
  const scratch = new Float32Array(bs);
  for (let i1 = 0; i1 < k; i1 += batch) {
    const i2 = Math.min(k, i1 + batch);
    for (let i = i1; i < i2; i++) {
      const p = order[i]!;
      const b = (p / bs) | 0;
      if (!staticGroups && p % bs === 0) {
        const len = Math.min(k, p + bs) - p;
        for (let c = 0; c < n; c++) {
          for (let t = 0; t < len; t++) scratch[t] = w[c * k + i + t]!;
          setParams(c, b, scratch.subarray(0, len));
        }
      }
      const ri = i * k;
      const d = u[ri + i]!;
      for (let c = 0; c < n; c++) {
        const base = c * k;
        const value = w[base + i]!;
        const s = scales[c * blocks + b]!;
        const z = zeroPoints[c * blocks + b]!;
        const q = Math.min(qmax, Math.max(0, Math.round(value / s) + z));
        codes[c * padded + p] = q;
        const e = (value - (q - z) * s) / d;
        err[c * batch + i - i1] = e;
        if (e !== 0) subtractScaled(w, base + i + 1, u, ri + i + 1, i2 - i - 1, e);
      }
    }
    // Lazy update: the rows after this batch receive the batch's accumulated errors at once.
    if (i2 < k) {
      for (let c = 0; c < n; c++) {
        const base = c * k;
        for (let t = i1; t < i2; t++) {
          const e = err[c * batch + t - i1]!;
          if (e !== 0) subtractScaled(w, base + i2, u, t * k + i2, k - i2, e);
        }
      }
    }
  }
  // Padding past K in the last block holds the zero point, as round-to-nearest writes it.
  for (let c = 0; c < n; c++) codes.fill(zeroPoints[c * blocks + blocks - 1]!, c * padded + k, (c + 1) * padded);
  return { n, k, blocks, bits: o.bits, blockSize: bs, codes, scales, zeroPoints, symmetric: o.symmetric };
}
