/** 64-bit integers from the wire arrive as Long (exact) or number; the IR works in JS numbers. */
import type { Int64 } from '../onnx/proto.js';

export function toNumber(v: Int64 | undefined | null, fallback = 0): number {
  if (v === undefined || v === null) return fallback;
  return typeof v === 'number' ? v : v.toNumber();
}
