/**
 * 16-bit floats as raw bits (Uint16Array), converted from and to float32 bit patterns so that the result
 * does not depend on JS number rounding: IEEE float16 (1-5-10) and bfloat16 (1-8-7), round to nearest even,
 * NaN kept NaN (quiet, sign kept), ±Inf kept, float16 subnormals exact.
 */

export interface NarrowOptions {
  /** Finite values beyond the largest finite 16-bit value become that value (with its sign) instead of ±Inf. */
  readonly saturate?: boolean;
}

/** Largest finite float16 (0x7bff). */
export const FLOAT16_MAX = 65504;
/** Smallest positive float16 subnormal, 2^-24. */
export const FLOAT16_MIN_SUBNORMAL = 2 ** -24;
/** Smallest positive normal float16, 2^-14. */
export const FLOAT16_MIN_NORMAL = 2 ** -14;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 bit pattern -> float16 bit pattern. */
export function float16FromBits(bits: number, saturate = false): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13); // Inf, quiet NaN
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | (saturate ? 0x7bff : 0x7c00);
  if (e <= 0) {
    // Subnormal result: at most 10 bits left; below half the smallest subnormal everything rounds to zero.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let r = mant >>> shift;
    if (rest > halfway || (rest === halfway && (r & 1) === 1)) r++; // a carry into bit 10 is the smallest normal: right
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++; // a carry past 0x7bff gives Inf: right
  if (saturate && r === 0x7c00) r = 0x7bff;
  return sign | r;
}

/** float16 bit pattern -> float32 bit pattern (exact). */
export function float16ToBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  let e = 113; // normalise a subnormal: shift the leading one into the implicit bit
  while ((mant & 0x400) === 0) { mant <<= 1; e--; }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** float32 bit pattern -> bfloat16 bit pattern. */
export function bfloat16FromBits(bits: number, saturate = false): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff; // quiet NaN, sign kept
  const r = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
  if (saturate && (r & 0x7fff) === 0x7f80 && (bits & 0x7fffffff) !== 0x7f800000) return r - 1;
  return r;
}

/** One number -> float16 bits. */
export function toFloat16(x: number, options: NarrowOptions = {}): number {
  scratchF32[0] = x;
  return float16FromBits(scratchU32[0]!, options.saturate);
}

/** float16 bits -> number. */
export function fromFloat16(h: number): number {
  scratchU32[0] = float16ToBits(h);
  return scratchF32[0]!;
}

/** One number -> bfloat16 bits. */
export function toBfloat16(x: number, options: NarrowOptions = {}): number {
  scratchF32[0] = x;
  return bfloat16FromBits(scratchU32[0]!, options.saturate);
}

/** bfloat16 bits -> number. */
export function fromBfloat16(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0]!;
}

/** float32 array -> float16 bits. Reads the float32 bit patterns directly (no JS rounding in between). */
export function float32ToFloat16(src: Float32Array, options: NarrowOptions = {}): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  const saturate = options.saturate ?? false;
  for (let i = 0; i < bits.length; i++) out[i] = float16FromBits(bits[i]!, saturate);
  return out;
}

export function float16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = float16ToBits(src[i]!);
  return out;
}

export function float32ToBfloat16(src: Float32Array, options: NarrowOptions = {}): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  const saturate = options.saturate ?? false;
  for (let i = 0; i < bits.length; i++) out[i] = bfloat16FromBits(bits[i]!, saturate);
  return out;
}

export function bfloat16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = (src[i]! << 16) >>> 0;
  return out;
}
