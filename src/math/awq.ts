/**
 * Activation-aware weight scaling (AWQ, Lin et al., 2023). Inputs with large activations carry the layer's
 * output; scaling their weight rows up by s before quantizing (and the activations down by 1/s, which leaves
 * the float model unchanged) gives them finer quantization steps relative to their size. The scale is
 * s_j = mean|x_j|^α, with α picked on a grid by the output error ‖X·W − (X/s)·Q(s·W)‖² of the quantized
 * layers; with G = XᵀX that error is Σ D ⊙ (G·D) for D = W − Q(s·W)/s.
 *
 * Weights are given as N columns of K values ([N][K], the blockwise quantizer's column view); differences
 * come out as [K][N] (the layer's own layout, rows = inputs).
 */
import { blockParams, quantizeBlockwise, quantizeInto, type BlockwiseOptions, type BlockwiseWeight } from './blockwise.js';

export interface AwqLayer {
  /** [N][K] */
  readonly columns: Float32Array;
  readonly n: number;
  readonly quant: BlockwiseOptions;
}

/** α = i / grid for i = 0 … grid − 1 (α = 0: no scaling, plain round-to-nearest). */
export function awqGrid(grid: number): number[] {
  return Array.from({ length: Math.max(1, grid) }, (_, i) => i / Math.max(1, grid));
}

/** s_j = m_j^α normalized so that max·min = 1; tiny means are floored so that 1/s stays finite. */
export function awqScales(absMean: ArrayLike<number>, alpha: number): Float32Array {
  const k = absMean.length;
  let top = 0;
  for (let j = 0; j < k; j++) top = Math.max(top, absMean[j]!);
  const floor = top > 0 ? top * 1e-4 : 1;
  const s = new Float64Array(k);
  let lo = Infinity, hi = 0;
  for (let j = 0; j < k; j++) {
    s[j] = Math.pow(Math.max(absMean[j]!, floor), alpha);
    lo = Math.min(lo, s[j]!);
    hi = Math.max(hi, s[j]!);
  }
  const norm = Math.sqrt(lo * hi);
  return Float32Array.from(s, (v) => v / norm);
}

/** D = W − Q(s·W)/s into `out` ([K][N]): what the layer loses when quantized with these scales. */
export function scaledQuantizationDiff(layer: AwqLayer, k: number, scales: Float32Array, out: Float32Array): void {
  const { columns, n, quant } = layer;
  const q = quantizeBlockwise((c, col) => {
    for (let i = 0; i < k; i++) col[i] = columns[c * k + i]! * scales[i]!;
  }, k, n, quant);
  const padded = q.blocks * q.blockSize;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < k; i++) {
      const b = c * q.blocks + ((i / q.blockSize) | 0);
      const dequantized = (q.codes[c * padded + i]! - q.zeroPoints[b]!) * q.scales[b]!;
      out[i * n + c] = columns[c * k + i]! - dequantized / scales[i]!;
    }
  }
}

/**
 * Activation-aware clipping (AWQ's second step): each block's range may shrink by one of these ratios; the
 * ratio is picked per block by the block's share of the output error, D_bᵀ·G_bb·D_b, rather than by the
 * weight error alone (down to half the range, as AWQ does).
 */
export const AWQ_CLIP_RATIOS: readonly number[] = Array.from({ length: 10 }, (_, i) => 1 - i * 0.05);

/** D_r = W − Q_r(W) for each ratio r, as [R][paddedK][N] (rows past K are zero). */
export function clippedDiffs(layer: AwqLayer, k: number, ratios: readonly number[], out: Float32Array): void {
  const { columns, n, quant } = layer;
  const blocks = Math.ceil(k / quant.blockSize);
  const padded = blocks * quant.blockSize;
  const codes = new Uint8Array(quant.blockSize);
  ratios.forEach((ratio, r) => {
    const base = r * padded * n;
    for (let c = 0; c < n; c++) {
      for (let b = 0; b < blocks; b++) {
        const start = b * quant.blockSize;
        const values = columns.subarray(c * k + start, c * k + Math.min(k, start + quant.blockSize));
        const p = clippedParams(values, ratio, quant);
        quantizeInto(values, p.scale, p.zeroPoint, quant.bits, codes);
        for (let i = 0; i < values.length; i++) out[base + (start + i) * n + c] = values[i]! - (codes[i]! - p.zeroPoint) * p.scale;
      }
    }
  });
}

/** Blockwise codes with block (c, b) clipped by ratios[choice[c * blocks + b]]. */
export function quantizeClipped(layer: AwqLayer, k: number, ratios: readonly number[], choice: Uint8Array): BlockwiseWeight {
  const { columns, n, quant } = layer;
  const blocks = Math.ceil(k / quant.blockSize);
  const padded = blocks * quant.blockSize;
  const codes = new Uint8Array(n * padded);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * blocks);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < blocks; b++) {
      const start = b * quant.blockSize;
      const values = columns.subarray(c * k + start, c * k + Math.min(k, start + quant.blockSize));
      const p = clippedParams(values, ratios[choice[c * blocks + b]!]!, quant);
      scales[c * blocks + b] = p.scale;
      zeroPoints[c * blocks + b] = p.zeroPoint;
      quantizeInto(values, p.scale, p.zeroPoint, quant.bits, codes.subarray(c * padded + start, c * padded + start + quant.blockSize));
    }
  }
  return { n, k, blocks, bits: quant.bits, blockSize: quant.blockSize, codes, scales, zeroPoints, symmetric: quant.symmetric };
}

/**
 * Round-to-nearest's block rule (blockParams) on the values clipped to ratio × their range, without
 * building the clipped copy: symmetric, the extreme value shrinks; asymmetric, both ends of [min, max] ∋ 0.
 */
function clippedParams(values: Float32Array, ratio: number, quant: BlockwiseOptions): { scale: number; zeroPoint: number } {
  if (ratio === 1) return blockParams(values, quant.bits, quant.symmetric);
  const qmax = (1 << quant.bits) - 1;
  const mid = 1 << (quant.bits - 1);
  if (quant.symmetric) {
    let extreme = 0;
    for (let i = 0; i < values.length; i++) if (Math.abs(values[i]!) > Math.abs(extreme)) extreme = values[i]!;
    return { scale: extreme === 0 ? 1 : Math.fround((extreme * ratio) / -mid), zeroPoint: mid };
  }
  let lo = 0, hi = 0;
  for (let i = 0; i < values.length; i++) { lo = Math.min(lo, values[i]!); hi = Math.max(hi, values[i]!); }
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround(((hi - lo) * ratio) / qmax);
  return { scale, zeroPoint: Math.min(qmax, Math.max(0, Math.round((-lo * ratio) / scale))) };
}
