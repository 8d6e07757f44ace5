/**
 * Blockwise weight quantization along the reduction axis K (4 or 8 bits), the layout that MatMulNBits and
 * opset-21 DequantizeLinear(block_size) share. A weight is viewed as N columns of K values; each column is
 * split into blocks of `blockSize` values with one scale (and, asymmetric, one zero point) per block.
 */

export interface BlockwiseOptions {
  readonly bits: 4 | 8;
  readonly blockSize: number;
  readonly symmetric: boolean;
  /** Pick each block's scale from a small grid of clipping ratios by least squared rounding error. */
  readonly searchScale?: boolean;
}

/** Clipping ratios tried by the scale search (1 = no clipping). */
export const CLIP_GRID: readonly number[] = [1, 0.97, 0.94, 0.91, 0.88, 0.85, 0.82, 0.79];

/** Codes are unsigned (0 .. 2^bits-1); value = (code - zeroPoint) * scale. */
export interface BlockwiseWeight {
  readonly n: number;
  readonly k: number;
  readonly blocks: number;
  readonly bits: 4 | 8;
  readonly blockSize: number;
  /** [n][blocks * blockSize] codes, padded blocks filled with the zero point. */
  readonly codes: Uint8Array;
  /** [n][blocks] */
  readonly scales: Float32Array;
  /** [n][blocks]; symmetric weights use 2^(bits-1). */
  readonly zeroPoints: Uint8Array;
  readonly symmetric: boolean;
}

/**
 * Reads column `n` of a weight as K contiguous values. `transposed` = stored [N, K] (Gemm transB=1);
 * otherwise [K, N] (MatMul).
 */
export function columnReader(w: Float32Array, k: number, n: number, transposed: boolean): (col: number, out: Float32Array) => void {
  return transposed
    ? (col, out) => out.set(w.subarray(col * k, col * k + k))
    : (col, out) => { for (let i = 0; i < k; i++) out[i] = w[i * n + col]!; };
}

/** Round-to-nearest blockwise quantization of every column. */
export function quantizeBlockwise(read: (col: number, out: Float32Array) => void, k: number, n: number, o: BlockwiseOptions): BlockwiseWeight {
  const blocks = Math.ceil(k / o.blockSize);
  const padded = blocks * o.blockSize;
  const codes = new Uint8Array(n * padded);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * blocks);
  const column = new Float32Array(k);
  for (let col = 0; col < n; col++) {
    read(col, column);
    for (let b = 0; b < blocks; b++) {
      const start = b * o.blockSize;
      const values = column.subarray(start, Math.min(k, start + o.blockSize));
      const { scale, zeroPoint } = o.searchScale ? searchBlockParams(values, o.bits, o.symmetric) : blockParams(values, o.bits, o.symmetric);
      scales[col * blocks + b] = scale;
      zeroPoints[col * blocks + b] = zeroPoint;
      const out = codes.subarray(col * padded + start, col * padded + start + o.blockSize);
      quantizeInto(values, scale, zeroPoint, o.bits, out);
    }
  }
  return { n, k, blocks, bits: o.bits, blockSize: o.blockSize, codes, scales, zeroPoints, symmetric: o.symmetric };
}

/**
 * Symmetric: the value of largest magnitude maps to code 0 (= -2^(bits-1)), using the whole code range.
 * Asymmetric: [min, max] (widened to include 0) maps onto [0, 2^bits - 1].
 */
export function blockParams(values: Float32Array, bits: number, symmetric: boolean): { scale: number; zeroPoint: number } {
  const qmax = (1 << bits) - 1;
  const mid = 1 << (bits - 1);
  if (symmetric) {
    let extreme = 0;
    for (const v of values) if (Math.abs(v) > Math.abs(extreme)) extreme = v;
    const scale = extreme === 0 ? 1 : Math.fround(extreme / -mid);
    return { scale, zeroPoint: mid };
  }
  let lo = 0, hi = 0;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / qmax);
  const zeroPoint = Math.min(qmax, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** blockParams with the range shrunk by each ratio of CLIP_GRID; keeps the one with least squared error. */
export function searchBlockParams(values: Float32Array, bits: number, symmetric: boolean): { scale: number; zeroPoint: number } {
  const base = blockParams(values, bits, symmetric);
  const qmax = (1 << bits) - 1;
  let best = base;
  let bestErr = Infinity;
  let lo = 0, hi = 0;
  if (!symmetric) for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  for (const ratio of CLIP_GRID) {
    const candidate = symmetric
      ? { scale: Math.fround(base.scale * ratio), zeroPoint: base.zeroPoint }
      : shrinkAsymmetric(lo, hi, bits, ratio);
    const { scale, zeroPoint } = candidate;
    const first = -zeroPoint, last = qmax - zeroPoint;
    let err = 0;
    // A sum of squares only grows: once it reaches the best so far, this ratio cannot win.
    for (let i = 0; i < values.length && err < bestErr; i++) {
      const v = values[i]!;
      const r = roundHalfUp(v / scale);
      const d = (r < first ? first : r > last ? last : r) * scale - v;
      err += d * d;
    }
    if (err < bestErr) { bestErr = err; best = candidate; }
  }
  return best;
}

/**
 * Math.round (halves up) without its cost in this loop: x - trunc(x) is exact, and the two comparisons
 * become numbers rather than branches on the random signs of weights.
 */
function roundHalfUp(x: number): number {
  const r = Math.trunc(x);
  const f = x - r;
  return r + Number(f >= 0.5) - Number(f < -0.5);
}

/** The asymmetric parameters of [lo, hi] (already including 0) shrunk by `ratio`. */
function shrinkAsymmetric(lo: number, hi: number, bits: number, ratio: number): { scale: number; zeroPoint: number } {
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const qmax = (1 << bits) - 1;
  const scale = Math.fround(((hi - lo) * ratio) / qmax);
  return { scale, zeroPoint: Math.min(qmax, Math.max(0, Math.round((-lo * ratio) / scale))) };
}

export function quantizeInto(values: ArrayLike<number>, scale: number, zeroPoint: number, bits: number, out: Uint8Array): void {
  const qmax = (1 << bits) - 1;
  out.fill(zeroPoint);
  for (let i = 0; i < values.length; i++) {
    const q = roundHalfUp(values[i]! / scale) + zeroPoint;
    out[i] = q < 0 ? 0 : q > qmax ? qmax : q;
  }
}

/** The float weight the codes stand for, as a [K, N] array (for error measurement and refits). */
export function dequantizeBlockwise(q: BlockwiseWeight): Float32Array {
  const out = new Float32Array(q.k * q.n);
  const padded = q.blocks * q.blockSize;
  for (let col = 0; col < q.n; col++) {
    for (let i = 0; i < q.k; i++) {
      const b = Math.floor(i / q.blockSize);
      const s = q.scales[col * q.blocks + b]!;
      out[i * q.n + col] = (q.codes[col * padded + i]! - q.zeroPoints[col * q.blocks + b]!) * s;
    }
  }
  return out;
}
