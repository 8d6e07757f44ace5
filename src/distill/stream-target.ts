/**
 * What a sublayer's residual sum should become so that the stream after it matches the teacher's, per token.
 *   pre-norm:  the stream is read through norms only (each block's, the final one), so its direction is what
 *              counts: z* = t·rms(z)/rms(t), the teacher's direction at the student's own scale. (Aiming at t
 *              itself, least squares recovers only the predictable part of t, with less energy than t; the
 *              next norm then scales that part up and the logits come out overconfident.)
 *   post-norm: the stream is norm(z) = γ·normalize(z) + β, and a norm forgets each token's offset and scale,
 *              so z* = (t − β)/γ re-normalized, then given the student's own offset and scale back: norm(z*) = t
 *              whenever t is in the norm's image (true when γ, β are the teacher's; see fit.ts).
 * The correction asked of the output projection is E = z* − z.
 */
import type { NormAffine } from './boundaries.js';

export interface PostNorm {
  readonly kind: NormAffine['kind'];
  readonly scale: Float32Array;
  readonly bias: Float32Array | undefined;
}

/** E = z* − z for every token (rows of `width`), written into a new array. */
export function streamCorrection(z: Float32Array, t: Float32Array, width: number, norm: PostNorm | undefined): Float32Array {
  const e = new Float32Array(z.length);
  if (!norm) {
    for (let at = 0; at < z.length; at += width) {
      const f = ratio(moments(z, at, width, false)[1], moments(t, at, width, false)[1]);
      for (let i = at; i < at + width; i++) e[i] = t[i]! * f - z[i]!;
    }
    return e;
  }
  const u = new Float64Array(width);
  for (let at = 0; at < z.length; at += width) {
    for (let c = 0; c < width; c++) {
      const g = norm.scale[c]!;
      u[c] = Math.abs(g) > 1e-8 ? (t[at + c]! - (norm.bias?.[c] ?? 0)) / g : 0;
    }
    const centered = norm.kind === 'LayerNorm';
    const [mu, sigma] = moments(u, 0, width, centered);
    const [zm, zs] = moments(z, at, width, centered);
    for (let c = 0; c < width; c++) {
      const target = zm + (sigma > 0 ? ((u[c]! - mu) / sigma) * zs : 0);
      e[at + c] = target - z[at + c]!;
    }
  }
  return e;
}

/** Mean and standard deviation of one row (or 0 and the root mean square, uncentred). */
function moments(x: ArrayLike<number>, at: number, width: number, centered: boolean): [number, number] {
  let mean = 0;
  if (centered) {
    for (let c = 0; c < width; c++) mean += x[at + c]!;
    mean /= width;
  }
  let sq = 0;
  for (let c = 0; c < width; c++) { const d = x[at + c]! - mean; sq += d * d; }
  return [mean, Math.sqrt(sq / width)];
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 1;
}
