/**
 * Byte layouts of quantized weights:
 * - com.microsoft MatMulNBits: B uint8 [N, blocks, blockSize*bits/8], codes low nibble first along K;
 *   scales [N*blocks]; zero points uint8 [N * ceil(blocks*bits/8)], packed the same way.
 * - ai.onnx DequantizeLinear-21 with block_size: int4/uint4/int8/uint8 tensors in row-major order, two
 *   4-bit elements per byte, low nibble first.
 */
import type { BlockwiseWeight } from './blockwise.js';

export function packMatMulNBits(q: BlockwiseWeight): { b: Uint8Array; scales: Float32Array; zeroPoints: Uint8Array | undefined } {
  const perBlock = (q.blockSize * q.bits) / 8;
  const b = new Uint8Array(q.n * q.blocks * perBlock);
  const padded = q.blocks * q.blockSize;
  for (let col = 0; col < q.n; col++) {
    const src = q.codes.subarray(col * padded, (col + 1) * padded);
    packCodes(src, q.bits, b.subarray(col * q.blocks * perBlock, (col + 1) * q.blocks * perBlock));
  }
  if (q.symmetric) return { b, scales: q.scales, zeroPoints: undefined };
  const zpPerCol = Math.ceil((q.blocks * q.bits) / 8);
  const zeroPoints = new Uint8Array(q.n * zpPerCol);
  for (let col = 0; col < q.n; col++) {
    packCodes(q.zeroPoints.subarray(col * q.blocks, (col + 1) * q.blocks), q.bits, zeroPoints.subarray(col * zpPerCol, (col + 1) * zpPerCol));
  }
  return { b, scales: q.scales, zeroPoints };
}

/** Packs unsigned codes: 8-bit copies, 4-bit puts element 2i in the low nibble of byte i. */
export function packCodes(codes: ArrayLike<number>, bits: 4 | 8, out: Uint8Array): void {
  if (bits === 8) {
    for (let i = 0; i < codes.length; i++) out[i] = codes[i]!;
    return;
  }
  out.fill(0);
  for (let i = 0; i < codes.length; i++) out[i >> 1]! |= (codes[i]! & 0x0f) << ((i & 1) * 4);
}

/**
 * Row-major 4-bit tensor bytes from signed values (-8..7, int4) or unsigned (0..15, uint4).
 * `values[i]` is element i in row-major order.
 */
export function packInt4(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1]! |= (values[i]! & 0x0f) << ((i & 1) * 4);
  return out;
}
