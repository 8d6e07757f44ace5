/**
 * Ridge least squares for a weight correction: ΔW = argmin ‖X·ΔW − E‖² + λ‖ΔW‖², i.e. (XᵀX + λI)·ΔW = XᵀE,
 * from the accumulated G = XᵀX (K×K) and C = XᵀE (K×N), row-major float64. λ = `fraction` × mean diagonal
 * of G, so the pull towards the original weights does not depend on the scale of the activations; inputs
 * that never fired (zero diagonal) get no correction. Cholesky factorisation, λ grown tenfold if needed.
 */

export interface RidgeSolution {
  /** ΔW [K×N], row-major. */
  readonly delta: Float64Array;
  /** The λ added to the diagonal (absolute; larger than asked when XᵀX needed more damping). */
  readonly lambda: number;
}

export function solveRidge(g: Float64Array, c: Float64Array, k: number, n: number, fraction: number): RidgeSolution {
  let mean = 0;
  for (let i = 0; i < k; i++) mean += g[i * k + i]!;
  mean = mean > 0 ? mean / k : 1;
  let f = Math.max(fraction, 0);
  for (let attempt = 0; attempt < 8; attempt++) {
    const l = cholesky(damped(g, k, f * mean, mean), k);
    if (l) return { delta: solveFactored(l, c, k, n), lambda: f * mean };
    f = f > 0 ? f * 10 : 1e-8;
  }
  throw new RangeError('XᵀX stays singular after damping (non-finite activations?)');
}

/** G + λI, with unit-scale diagonal for inputs that were always zero. */
function damped(g: Float64Array, k: number, lambda: number, mean: number): Float64Array {
  const a = Float64Array.from(g);
  for (let i = 0; i < k; i++) {
    const d = a[i * k + i]!;
    a[i * k + i] = d > 0 ? d + lambda : mean;
  }
  return a;
}

/** Lower L with A = L·Lᵀ, or undefined when A is not positive definite. */
function cholesky(a: Float64Array, k: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    const rj = j * k;
    let d = a[rj + j]!;
    for (let p = 0; p < j; p++) d -= l[rj + p]! * l[rj + p]!;
    if (!(d > 0) || !Number.isFinite(d)) return undefined;
    const pivot = Math.sqrt(d);
    l[rj + j] = pivot;
    for (let i = j + 1; i < k; i++) {
      const ri = i * k;
      let s = a[ri + j]!;
      for (let p = 0; p < j; p++) s -= l[ri + p]! * l[rj + p]!;
      l[ri + j] = s / pivot;
    }
  }
  return l;
}

/** X with L·Lᵀ·X = C: forward then backward substitution, all N columns per row at once. */
function solveFactored(l: Float64Array, c: Float64Array, k: number, n: number): Float64Array {
  const y = Float64Array.from(c);
  for (let i = 0; i < k; i++) {
    const ri = i * k;
    const row = i * n;
    for (let p = 0; p < i; p++) {
      const f = l[ri + p]!;
      if (f === 0) continue;
      const rp = p * n;
      for (let j = 0; j < n; j++) y[row + j]! -= f * y[rp + j]!;
    }
    const inv = 1 / l[ri + i]!;
    for (let j = 0; j < n; j++) y[row + j]! *= inv;
  }
  // Backward with Lᵀ read along rows.
  const lt = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let p = 0; p <= i; p++) lt[p * k + i] = l[i * k + p]!;
  for (let i = k - 1; i >= 0; i--) {
    const row = i * n;
    for (let p = i + 1; p < k; p++) {
      const f = lt[i * k + p]!;
      if (f === 0) continue;
      const rp = p * n;
      for (let j = 0; j < n; j++) y[row + j]! -= f * y[rp + j]!;
    }
    const inv = 1 / lt[i * k + i]!;
    for (let j = 0; j < n; j++) y[row + j]! *= inv;
  }
  return y;
}
