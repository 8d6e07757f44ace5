/**
 * Int8 weights for static quantization, one scale per tensor or per output channel:
 *   s8          symmetric, −127..127
 *   s8-reduced  symmetric, −63..63 (7 bits): u8 × s8 products cannot saturate int16 on AVX2 without VNNI
 *   u8          asymmetric, 0..255 with a zero point per scale
 * value = (code − zeroPoint) · scale, which DequantizeLinear and MatMulInteger both compute.
 */
import { DType } from '../../../src/ir/dtype.js';

export type WeightType = 's8' | 's8-reduced' | 'u8';

export interface QuantizedWeight {
  readonly dtype: typeof DType.INT8 | typeof DType.UINT8;
  /** Same layout as the float weight. */
  readonly codes: Int8Array | Uint8Array;
  /** One per channel (per-channel) or one. */
  readonly scales: Float32Array;
  readonly zeroPoints: Int8Array | Uint8Array;
  /** The axis the scales run along, undefined for per-tensor. */
  readonly axis: number | undefined;
}

/**
 * Quantizes a [rows, cols] weight. `axis` = the output-channel axis for per-channel scales (1 for a
 * MatMul weight [K, N], 0 for a Gemm transB weight [N, K]); undefined for one scale.
 */
export function quantizeWeight(w: Float32Array, rows: number, cols: number, type: WeightType, axis: 0 | 1 | undefined): QuantizedWeight {
  const channels = axis === undefined ? 1 : axis === 0 ? rows : cols;
  const channelOf = axis === undefined ? () => 0 : axis === 0 ? (i: number) => Math.floor(i / cols) : (i: number) => i % cols;
  const lo = new Float64Array(channels);
  const hi = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = channelOf(i);
    const v = w[i]!;
    if (v < lo[c]!) lo[c] = v;
    if (v > hi[c]!) hi[c] = v;
  }
  const scales = new Float32Array(channels);
  const u8 = type === 'u8';
  const zeroPoints = u8 ? new Uint8Array(channels) : new Int8Array(channels);
  const qmax = type === 's8-reduced' ? 63 : 127;
  for (let c = 0; c < channels; c++) {
    if (u8) {
      const span = hi[c]! - lo[c]!;
      scales[c] = span > 0 ? span / 255 : 1;
      zeroPoints[c] = clamp(Math.round(-lo[c]! / scales[c]!), 0, 255);
    } else {
      const peak = Math.max(-lo[c]!, hi[c]!);
      scales[c] = peak > 0 ? peak / qmax : 1;
    }
  }
  const codes = u8 ? new Uint8Array(w.length) : new Int8Array(w.length);
  const [min, max] = u8 ? [0, 255] : [-qmax, qmax];
  for (let i = 0; i < w.length; i++) {
    const c = channelOf(i);
    codes[i] = clamp(Math.round(w[i]! / scales[c]!) + zeroPoints[c]!, min, max);
  }
  return { dtype: u8 ? DType.UINT8 : DType.INT8, codes, scales, zeroPoints, axis };
}

/** The weight laid out [K, N] (a transposed Gemm weight is transposed back; per-channel axis becomes 1). */
export function asKn(qw: QuantizedWeight, layer: { readonly transposed: boolean; readonly k: number; readonly n: number }): QuantizedWeight {
  if (!layer.transposed) return qw;
  return { ...qw, codes: transposeCodes(qw.codes, layer.n, layer.k), axis: qw.axis === undefined ? undefined : 1 };
}

/** The [cols, rows] transpose of a [rows, cols] code matrix. */
export function transposeCodes(codes: Int8Array | Uint8Array, rows: number, cols: number): Int8Array | Uint8Array {
  const out = codes instanceof Int8Array ? new Int8Array(codes.length) : new Uint8Array(codes.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = codes[r * cols + c]!;
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
