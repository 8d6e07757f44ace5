/**
 * Choosing which input groups of a consuming projection to remove when it will be refit (structured
 * optimal brain surgeon). With A = XᵀX + λI and W the [K × N] weights, removing the group I of inputs and
 * refitting the rest raises the output error ‖X·W' − X·W‖² by
 *   Σ_c W_I,cᵀ · ((A⁻¹)_II)⁻¹ · W_I,c
 * Groups are removed one at a time, cheapest first; after each, W takes the optimal correction
 * W −= (A⁻¹)_:I ((A⁻¹)_II)⁻¹ W_I and A⁻¹ the matching downdate, so later choices see the earlier ones.
 * Groups are single FFN channels, or the D (or rep·D) channels of a head (key/value group).
 */
import { dampedInverseFactor, inverseFactor } from '../../../src/math/least-squares.js';

/** The units (groups of `size` consecutive inputs) to keep, ascending, `keep` of the first `removable`. */
export function selectByObs(w: Float32Array, k: number, n: number, gram: Float64Array, size: number, keep: number, ridge: number, removable = k / size): number[] {
  const removed = new Set(obsRemovalOrder(w, k, n, gram, size, removable - keep, ridge, removable).units);
  return Array.from({ length: removable }, (_, i) => i).filter((u) => !removed.has(u));
}

export interface RemovalOrder {
  /** Units in the order they are removed. */
  readonly units: number[];
  /** The output error each removal adds, after the optimal correction of the ones before it. */
  readonly costs: number[];
}

/**
 * The first `count` units the greedy criterion removes, with the cost of each step. Only the first
 * `removable` units are candidates (the rest, e.g. a constant input standing for a bias, always stay).
 */
export function obsRemovalOrder(w: Float32Array, k: number, n: number, gram: Float64Array, size: number, count: number, ridge: number, removable = k / size): RemovalOrder {
  const inv = inverseOf(gram, k, ridge);
  const weights = Float64Array.from(w);
  const alive = new Set(Array.from({ length: removable }, (_, i) => i));
  const units: number[] = [];
  const costs: number[] = [];
  while (units.length < count && alive.size > 1) {
    let best = -1;
    let bestCost = Infinity;
    let bestFactor: Float64Array | undefined;
    for (const u of alive) {
      const f = blockInverseFactor(inv, k, u * size, size);
      const cost = f ? errorOf(f, weights, n, u * size, size) : Infinity;
      if (cost < bestCost || best < 0) { best = u; bestCost = cost; bestFactor = f; }
    }
    if (bestFactor) downdate(inv, weights, k, n, best * size, size, bestFactor);
    alive.delete(best);
    units.push(best);
    costs.push(bestCost);
  }
  return { units, costs };
}

/** (XᵀX + λI)⁻¹ as a full K×K matrix; inputs never active get a unit diagonal. */
function inverseOf(gram: Float64Array, k: number, ridge: number): Float64Array {
  const { u } = dampedInverseFactor(gram, k, ridge);
  const inv = new Float64Array(k * k);
  // A⁻¹ = UᵀU with U upper: (A⁻¹)_ij = Σ_{p ≤ min(i,j)} U_pi U_pj.
  for (let p = 0; p < k; p++) {
    const row = p * k;
    for (let i = p; i < k; i++) {
      const x = u[row + i]!;
      if (x === 0) continue;
      for (let j = p; j < k; j++) inv[i * k + j]! += x * u[row + j]!;
    }
  }
  return inv;
}

/** U with ((A⁻¹)_II)⁻¹ = UᵀU for the block at [start, start+size). */
function blockInverseFactor(inv: Float64Array, k: number, start: number, size: number): Float64Array | undefined {
  const m = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) m[i * size + j] = inv[(start + i) * k + start + j]!;
  return inverseFactor(m, size);
}

/** Σ_c ‖U·W_I,c‖². */
function errorOf(u: Float64Array, w: Float64Array, n: number, start: number, size: number): number {
  let total = 0;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < size; i++) {
      let s = 0;
      for (let p = i; p < size; p++) s += u[i * size + p]! * w[(start + p) * n + c]!;
      total += s * s;
    }
  }
  return total;
}

/** W −= A⁻¹_:I M⁻¹ W_I and A⁻¹ −= A⁻¹_:I M⁻¹ A⁻¹_I:, with M⁻¹ = UᵀU. */
function downdate(inv: Float64Array, w: Float64Array, k: number, n: number, start: number, size: number, u: Float64Array): void {
  // C = M⁻¹ · [W_I | A⁻¹_I:]  (size × (n + k)), then subtract A⁻¹_:I · C.
  const cols = n + k;
  const rhs = new Float64Array(size * cols);
  for (let i = 0; i < size; i++) {
    for (let c = 0; c < n; c++) rhs[i * cols + c] = w[(start + i) * n + c]!;
    for (let j = 0; j < k; j++) rhs[i * cols + n + j] = inv[(start + i) * k + j]!;
  }
  const c = multiplyInverse(u, rhs, size, cols);
  for (let r = 0; r < k; r++) {
    for (let i = 0; i < size; i++) {
      const a = inv[r * k + start + i]!;
      if (a === 0) continue;
      const base = i * cols;
      for (let x = 0; x < n; x++) w[r * n + x]! -= a * c[base + x]!;
    }
  }
  // A⁻¹ update after W: both read the old A⁻¹_:I, so it is copied first.
  const column = new Float64Array(k * size);
  for (let r = 0; r < k; r++) for (let i = 0; i < size; i++) column[r * size + i] = inv[r * k + start + i]!;
  for (let r = 0; r < k; r++) {
    for (let i = 0; i < size; i++) {
      const a = column[r * size + i]!;
      if (a === 0) continue;
      const base = i * cols + n;
      for (let j = 0; j < k; j++) inv[r * k + j]! -= a * c[base + j]!;
    }
  }
}

/** UᵀU · B for B [size × cols]. */
function multiplyInverse(u: Float64Array, b: Float64Array, size: number, cols: number): Float64Array {
  const ub = new Float64Array(size * cols);
  for (let i = 0; i < size; i++) for (let p = i; p < size; p++) {
    const x = u[i * size + p]!;
    for (let c = 0; c < cols; c++) ub[i * cols + c]! += x * b[p * cols + c]!;
  }
  const out = new Float64Array(size * cols);
  for (let i = 0; i < size; i++) for (let p = 0; p <= i; p++) {
    const x = u[p * size + i]!;
    for (let c = 0; c < cols; c++) out[i * cols + c]! += x * ub[p * cols + c]!;
  }
  return out;
}
