/**
 * 8-bit weight quantization of a matrix [rows, cols], per tensor or per row/column, in three integer forms:
 *   s8          symmetric, codes -127..127, zero point 0
 *   s8-reduced  symmetric, codes -64..64 (7 bits): a u8 x s8 product pair stays inside int16, so AVX2
 *               kernels without VNNI (vpmaddubsw saturates) compute it exactly
 *   u8          asymmetric, codes 0..255 with a zero point; [min, max] widened to include 0
 * value = (code - zeroPoint) * scale. A group's range is its max-abs (or min/max), or with `searchScale` the
 * clipped range of least squared rounding error.
 */

export type Int8Scheme = 's8' | 's8-reduced' | 'u8';

/** Which values share a scale: the whole matrix, each row, or each column. */
export type Int8Granularity = 'tensor' | 'row' | 'column';

export interface Int8Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly scheme: Int8Scheme;
  readonly granularity: Int8Granularity;
  /** [rows, cols] row-major; Int8Array for the symmetric schemes, Uint8Array for u8. */
  readonly codes: Int8Array | Uint8Array;
  /** One per group: 1, `rows` or `cols`. */
  readonly scales: Float32Array;
  /** Same length and signedness as the codes' groups; all zero for the symmetric schemes. */
  readonly zeroPoints: Int8Array | Uint8Array;
}

/** Largest code magnitude of a symmetric scheme. */
export const SYMMETRIC_LIMIT: Readonly<Record<Exclude<Int8Scheme, 'u8'>, number>> = { s8: 127, 's8-reduced': 64 };

export function isSigned(scheme: Int8Scheme): boolean {
  return scheme !== 'u8';
}

export interface Int8Options {
  /**
   * Pick each group's range among CLIP_RATIOS of its full range by least squared rounding error (no data
   * needed): a few clipped outliers cost less than a coarser step for every other weight.
   */
  readonly searchScale?: boolean;
}

/** Quantizes a float matrix with one scale per group (round half away from zero, then clamp). */
export function quantizeInt8(data: Float32Array, rows: number, cols: number, scheme: Int8Scheme, granularity: Int8Granularity, options: Int8Options = {}): Int8Matrix {
  const groups = granularity === 'tensor' ? 1 : granularity === 'row' ? rows : cols;
  // group of element (r, c) = r * rowStride + c * colStride
  const [rowStride, colStride] = granularity === 'tensor' ? [0, 0] : granularity === 'row' ? [1, 0] : [0, 1];
  const lo = new Float64Array(groups);
  const hi = new Float64Array(groups);
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i++) {
      const g = r * rowStride + c * colStride;
      const v = data[i]!;
      if (v < lo[g]!) lo[g] = v;
      if (v > hi[g]!) hi[g] = v;
    }
  }
  const signed = isSigned(scheme);
  const limit = signed ? SYMMETRIC_LIMIT[scheme as keyof typeof SYMMETRIC_LIMIT] : 0;
  const scales = new Float32Array(groups);
  const zeroPoints = signed ? new Int8Array(groups) : new Uint8Array(groups);
  for (let g = 0; g < groups; g++) {
    const p = signed ? symmetricParams(lo[g]!, hi[g]!, limit) : asymmetricParams(lo[g]!, hi[g]!);
    scales[g] = p.scale;
    zeroPoints[g] = p.zeroPoint;
  }
  const [qmin, qmax] = signed ? [-limit, limit] : [0, 255];
  if (options.searchScale) searchScales(data, rows, cols, granularity, { lo, hi, scales, zeroPoints, signed, qmin, qmax });
  const codes = signed ? new Int8Array(data.length) : new Uint8Array(data.length);
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i++) {
      const g = r * rowStride + c * colStride;
      const q = roundHalfAway(data[i]! / scales[g]!) + zeroPoints[g]!;
      codes[i] = q < qmin ? qmin : q > qmax ? qmax : q;
    }
  }
  return { rows, cols, scheme, granularity, codes, scales, zeroPoints };
}

/** The float matrix the codes stand for (float32 arithmetic, as DequantizeLinear computes it). */
export function dequantizeInt8(q: Int8Matrix): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  for (let i = 0; i < out.length; i++) {
    const g = q.granularity === 'tensor' ? 0 : q.granularity === 'row' ? Math.floor(i / q.cols) : i % q.cols;
    out[i] = Math.fround((q.codes[i]! - q.zeroPoints[g]!) * q.scales[g]!);
  }
  return out;
}

/** The transposed matrix: rows become columns, per-row groups become per-column groups. */
export function transposeInt8(q: Int8Matrix): Int8Matrix {
  const codes = q.codes instanceof Int8Array ? new Int8Array(q.codes.length) : new Uint8Array(q.codes.length);
  for (let r = 0; r < q.rows; r++) for (let c = 0; c < q.cols; c++) codes[c * q.rows + r] = q.codes[r * q.cols + c]!;
  const granularity = q.granularity === 'row' ? 'column' : q.granularity === 'column' ? 'row' : 'tensor';
  return { ...q, rows: q.cols, cols: q.rows, granularity, codes };
}

/** Multiplies every scale by a constant (folds Gemm's alpha into the weight). */
export function scaleInt8(q: Int8Matrix, factor: number): Int8Matrix {
  return factor === 1 ? q : { ...q, scales: q.scales.map((s) => s * factor) };
}

/** Largest |x| maps to the largest code; an all-zero group gets scale 1. */
function symmetricParams(lo: number, hi: number, limit: number): { scale: number; zeroPoint: number } {
  const peak = Math.max(-lo, hi);
  return { scale: peak === 0 ? 1 : Math.fround(peak / limit), zeroPoint: 0 };
}

/** [lo, hi] (already including 0) onto 0..255. */
function asymmetricParams(lo: number, hi: number): { scale: number; zeroPoint: number } {
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / 255);
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/**
 * Half away from zero, the same as ±Math.round(|x|) but without a branch on the sign, which the random signs
 * of weights make several times slower in the search's loop. f = x - trunc(x) is exact, and trunc(2f) is
 * ±1 exactly when |f| >= 0.5.
 */
function roundHalfAway(x: number): number {
  const r = Math.trunc(x);
  return r + Math.trunc(2 * (x - r));
}

/** Fractions of the full range tried by the scale search: 1 (max-abs or min/max), 0.99, ..., 0.85. */
export const CLIP_RATIOS: readonly number[] = Array.from({ length: 16 }, (_, i) => 1 - i * 0.01);

interface GroupParams {
  readonly lo: Float64Array; readonly hi: Float64Array;
  readonly scales: Float32Array; readonly zeroPoints: Int8Array | Uint8Array;
  readonly signed: boolean; readonly qmin: number; readonly qmax: number;
}

/** Columns gathered at a time for a per-column search: one pass over the rows reads a short contiguous run each. */
const COLUMN_TILE = 16;

/** Replaces each group's scale and zero point by the clipped ones with least squared rounding error. */
function searchScales(data: Float32Array, rows: number, cols: number, granularity: Int8Granularity, p: GroupParams): void {
  if (granularity === 'tensor') { searchGroup(data, 0, p); return; }
  if (granularity === 'row') {
    for (let g = 0; g < rows; g++) searchGroup(data.subarray(g * cols, (g + 1) * cols), g, p);
    return;
  }
  const tile = new Float32Array(COLUMN_TILE * rows);
  for (let c0 = 0; c0 < cols; c0 += COLUMN_TILE) {
    const width = Math.min(COLUMN_TILE, cols - c0);
    for (let r = 0; r < rows; r++) {
      const row = r * cols + c0;
      for (let j = 0; j < width; j++) tile[j * rows + r] = data[row + j]!;
    }
    for (let j = 0; j < width; j++) searchGroup(tile.subarray(j * rows, (j + 1) * rows), c0 + j, p);
  }
}

function searchGroup(values: Float32Array, g: number, p: GroupParams): void {
  let bestError = Infinity;
  for (const ratio of CLIP_RATIOS) {
    const lo = p.lo[g]! * ratio, hi = p.hi[g]! * ratio;
    const c = p.signed ? symmetricParams(lo, hi, p.qmax) : asymmetricParams(lo, hi);
    const error = roundingError(values, c.scale, c.zeroPoint, p.qmin, p.qmax, bestError);
    if (error < bestError) { bestError = error; p.scales[g] = c.scale; p.zeroPoints[g] = c.zeroPoint; }
  }
}

/** Σ (dequantized − value)²; stops as soon as the sum reaches `bound` (that trial cannot win any more). */
function roundingError(values: Float32Array, scale: number, zeroPoint: number, qmin: number, qmax: number, bound: number): number {
  let sum = 0;
  const lo = qmin - zeroPoint, hi = qmax - zeroPoint;
  for (let start = 0; start < values.length; start += 256) {
    const end = Math.min(values.length, start + 256);
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      // Codes relative to the zero point, clamped to the range.
      const r = roundHalfAway(v / scale);
      const d = (r < lo ? lo : r > hi ? hi : r) * scale - v;
      sum += d * d;
    }
    if (sum >= bound) return sum;
  }
  return sum;
}
