/**
 * Ridge least squares for refitting a pruned layer: every output column c keeps its weights on a support S_c
 * (the unpruned inputs) and is refit so that its output on the calibration inputs X matches the dense one:
 *
 *   min over w_c (zero outside S_c) of  (w_c − w⁰_c)ᵀ A (w_c − w⁰_c),   A = XᵀX + λI
 *
 * which is ‖X·w_c − X·w⁰_c‖² plus a ridge pull towards the dense weights. The normal equations on the
 * support, A_SS·w_S = (A·w⁰)_S, are solved by preconditioned conjugate gradients, all columns in lockstep so
 * that each iteration is one product of a [columns × K] block with A (which the caller may hand to a fast
 * GEMM). Starting from the pruned weights, a few dozen iterations suffice.
 */

/** Multiplies row-major [rows × K] blocks P by a fixed K×K matrix A: P·A. */
export interface MatrixProduct {
  readonly k: number;
  multiply(p: Float32Array, rows: number): Promise<Float32Array>;
}

/** A product computed in JavaScript (small layers, tests). */
export function jsProduct(a: Float64Array, k: number): MatrixProduct {
  return {
    k,
    async multiply(p, rows) {
      const out = new Float32Array(rows * k);
      const acc = new Float64Array(k);
      for (let r = 0; r < rows; r++) {
        acc.fill(0);
        // row r of P·A = Σ_j P[r][j]·A[j][:]: contiguous reads of A's rows.
        for (let j = 0; j < k; j++) {
          const v = p[r * k + j]!;
          if (v === 0) continue;
          const base = j * k;
          for (let i = 0; i < k; i++) acc[i]! += v * a[base + i]!;
        }
        for (let i = 0; i < k; i++) out[r * k + i] = acc[i]!;
      }
      return out;
    },
  };
}

/** λ = `fraction` × the mean of H's diagonal (1 when the diagonal is all zero). */
export function ridgeValue(h: Float64Array, k: number, fraction: number): number {
  let mean = 0;
  for (let i = 0; i < k; i++) mean += h[i * k + i]!;
  mean /= Math.max(1, k);
  return fraction * (mean > 0 ? mean : 1);
}

/** H + λ·I with λ = ridgeValue(H, k, fraction) (a copy). */
export function addRidge(h: Float64Array, k: number, fraction: number): Float64Array {
  const a = Float64Array.from(h);
  const lambda = ridgeValue(h, k, fraction);
  for (let i = 0; i < k; i++) a[i * k + i]! += lambda;
  return a;
}

export interface RefitProblem {
  readonly k: number;
  readonly columns: number;
  /** Products with A (symmetric). */
  readonly product: MatrixProduct;
  /** A's diagonal (Jacobi preconditioner). */
  readonly diagonal: Float64Array;
  /** Dense weights w⁰, [columns][K]. */
  readonly target: Float64Array;
  /** Start point, zero where pruned; refit in place. */
  readonly weights: Float64Array;
  /** 1 = pruned: held at zero. */
  readonly mask: Uint8Array;
  readonly iterations?: number;
  /** Stop a column when its residual fell below this fraction of its first one. */
  readonly tolerance?: number;
  /** Also compute the objective after the refit (one more product). */
  readonly measure?: boolean;
}

export interface RefitResult {
  readonly iterations: number;
  /** Objective (w − w⁰)ᵀA(w − w⁰) summed over columns, before and (with `measure`) after. */
  readonly before: number;
  readonly after: number | undefined;
}

/** Preconditioned conjugate gradients on every column's support at once. */
export async function refitOnSupport(prob: RefitProblem): Promise<RefitResult> {
  const { k, columns: cols, product, diagonal, target, weights: w, mask } = prob;
  const size = k * cols;
  const maxIterations = prob.iterations ?? 40;
  const tol = prob.tolerance ?? 1e-4;
  const inverse = diagonal.map((d) => (d > 0 ? 1 / d : 1));
  // Kept positions column by column: every loop below runs over the support only.
  const starts = new Int32Array(cols + 1);
  let count = 0;
  for (let i = 0; i < size; i++) if (!mask[i]) count++;
  const kept = new Int32Array(count);
  for (let c = 0, at = 0; c < cols; c++) {
    starts[c] = at;
    for (let i = c * k; i < (c + 1) * k; i++) if (!mask[i]) kept[at++] = i;
    starts[c + 1] = at;
  }
  const delta = new Float32Array(size);
  for (let i = 0; i < size; i++) delta[i] = w[i]! - target[i]!;
  const ad = await product.multiply(delta, cols);
  const before = dotAll(delta, ad);
  // r = −(A·(w − w⁰)) on the support: the descent direction of the objective; z = r / diag(A).
  const r = new Float64Array(size);
  const p = new Float32Array(size);
  const rz = new Float64Array(cols);
  const first = new Float64Array(cols);
  const active = new Uint8Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    let rr = 0;
    for (let t = starts[c]!; t < starts[c + 1]!; t++) {
      const i = kept[t]!;
      const ri = -ad[i]!;
      r[i] = ri;
      p[i] = ri * inverse[i % k]!;
      s += ri * p[i]!;
      rr += ri * ri;
    }
    rz[c] = s;
    first[c] = Math.sqrt(rr);
    active[c] = rr > 0 ? 1 : 0;
  }
  let iterations = 0;
  while (iterations < maxIterations && active.some((a) => a)) {
    iterations++;
    const q = await product.multiply(p, cols);
    for (let c = 0; c < cols; c++) {
      if (!active[c]) continue;
      const t0 = starts[c]!;
      const t1 = starts[c + 1]!;
      let pq = 0;
      for (let t = t0; t < t1; t++) { const i = kept[t]!; pq += p[i]! * q[i]!; }
      if (!(pq > 0)) { stop(c); continue; }
      const alpha = rz[c]! / pq;
      let rr = 0;
      let next = 0;
      for (let t = t0; t < t1; t++) {
        const i = kept[t]!;
        w[i]! += alpha * p[i]!;
        const ri = r[i]! - alpha * q[i]!;
        r[i] = ri;
        rr += ri * ri;
        next += ri * ri * inverse[i - c * k]!;
      }
      if (Math.sqrt(rr) <= tol * first[c]!) { stop(c); continue; }
      const beta = next / rz[c]!;
      rz[c] = next;
      for (let t = t0; t < t1; t++) { const i = kept[t]!; p[i] = r[i]! * inverse[i - c * k]! + beta * p[i]!; }
    }
  }
  for (let i = 0; i < size; i++) if (mask[i]) w[i] = 0;
  if (!prob.measure) return { iterations, before, after: undefined };
  for (let i = 0; i < size; i++) delta[i] = w[i]! - target[i]!;
  return { iterations, before, after: dotAll(delta, await product.multiply(delta, cols)) };

  function stop(c: number): void {
    active[c] = 0;
    for (let t = starts[c]!; t < starts[c + 1]!; t++) p[kept[t]!] = 0;
  }
}

function dotAll(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Upper triangular U with A⁻¹ = UᵀU (A symmetric positive definite, K×K row-major), or undefined when A is
 * not positive definite. Factor A = R·Rᵀ with R upper (Cholesky run from the last row up); then
 * A⁻¹ = R⁻ᵀR⁻¹ and U = R⁻¹ is upper too: the inverse is never formed.
 */
export function inverseFactor(a: Float64Array, k: number): Float64Array | undefined {
  const r = new Float64Array(k * k);
  for (let j = k - 1; j >= 0; j--) {
    const rj = j * k;
    let d = a[rj + j]!;
    for (let p = j + 1; p < k; p++) d -= r[rj + p]! * r[rj + p]!;
    // A pivot that cancelled down to rounding noise means A is (numerically) singular.
    if (!(d > 1e-12 * Math.abs(a[rj + j]!)) || !Number.isFinite(d)) return undefined;
    const pivot = Math.sqrt(d);
    r[rj + j] = pivot;
    for (let i = 0; i < j; i++) {
      const ri = i * k;
      let s = a[ri + j]!;
      for (let p = j + 1; p < k; p++) s -= r[ri + p]! * r[rj + p]!;
      r[ri + j] = s / pivot;
    }
  }
  // Rows of U = R⁻¹ from the bottom: U[i] = (eᵢ − Σ_{p>i} R[i][p]·U[p]) / R[i][i].
  const u = new Float64Array(k * k);
  for (let i = k - 1; i >= 0; i--) {
    const ri = i * k;
    u[ri + i] = 1;
    for (let p = i + 1; p < k; p++) {
      const c = r[ri + p]!;
      if (c === 0) continue;
      const rp = p * k;
      for (let j = p; j < k; j++) u[ri + j]! -= c * u[rp + j]!;
    }
    const inv = 1 / r[ri + i]!;
    for (let j = i; j < k; j++) u[ri + j]! *= inv;
  }
  return u;
}

/** diag(A⁻¹) from U with A⁻¹ = UᵀU: (A⁻¹)ᵢᵢ = Σ_p U[p][i]². */
export function inverseDiagonal(u: Float64Array, k: number): Float64Array {
  const d = new Float64Array(k);
  for (let p = 0; p < k; p++) for (let i = p; i < k; i++) d[i]! += u[p * k + i]! * u[p * k + i]!;
  return d;
}

/**
 * The factor U of (H + λI)⁻¹ for second-order pruning. Inputs never active (zero diagonal) get a unit
 * diagonal so the matrix stays invertible; λ starts at `fraction` × mean diagonal and grows tenfold while the
 * factorization fails (rank-deficient or noisy XᵀX).
 */
export function dampedInverseFactor(h: Float64Array, k: number, fraction: number): { u: Float64Array; fraction: number; lambda: number } {
  const fixed = Float64Array.from(h);
  for (let i = 0; i < k; i++) if (!(fixed[i * k + i]! > 0)) fixed[i * k + i] = 1;
  let f = fraction;
  for (let attempt = 0; attempt < 8; attempt++) {
    const u = inverseFactor(addRidge(fixed, k, f), k);
    if (u) return { u, fraction: f, lambda: ridgeValue(fixed, k, f) };
    f = f > 0 ? f * 10 : 1e-4;
  }
  throw new RangeError('XᵀX stays indefinite after damping (non-finite calibration activations?)');
}
