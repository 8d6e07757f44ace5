/**
 * Scale and zero point of an activation from its calibrated range: u8 asymmetric covers [lo, hi] with 256
 * levels; s8 symmetric covers [−max|·|, max|·|] with codes −127..127 (TensorRT's form, zero point 0).
 */
import { DType } from '../../../src/ir/dtype.js';
import type { Range } from '../../../src/math/calibration-range.js';

export interface ActivationParams {
  readonly dtype: typeof DType.UINT8 | typeof DType.INT8;
  readonly scale: number;
  readonly zeroPoint: number;
}

export function activationParams(range: Range, symmetric: boolean): ActivationParams {
  if (symmetric) {
    const peak = Math.max(-range.lo, range.hi);
    return { dtype: DType.INT8, scale: Math.fround(peak > 0 ? peak / 127 : 1), zeroPoint: 0 };
  }
  const span = range.hi - range.lo;
  // An all-zero activation still needs a positive scale; zero point 0 keeps 0 exact.
  const scale = Math.fround(span > 0 ? span / 255 : 1);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-range.lo / scale)));
  return { dtype: DType.UINT8, scale, zeroPoint };
}
