/**
 * Error correction before pruning a layer: the layers before it are already pruned, so its input X̃ differs
 * from the dense model's X. Its weights are first replaced by the best fit to the dense model's output,
 *
 *   w* = argmin ‖X̃·w − X·w⁰‖² + λ‖w − w⁰‖²  =  (X̃ᵀX̃ + λI)⁻¹ (X̃ᵀX·w⁰ + λw⁰)
 *
 * (with a bias, on [X̃, 1] and [X, 1]). Since ‖X̃·w − X·w⁰‖² = ‖X̃·(w − w*)‖² + const, pruning w* against
 * X̃ᵀX̃ afterwards (magnitude, Wanda, SparseGPT, reconstruction) minimises the distance to the dense model's
 * output rather than to the layer's own dense output on already degraded inputs. With (X̃ᵀX̃ + λI)⁻¹ = UᵀU,
 * all outputs at once: W*ᵀ = ((W⁰ᵀ·(X̃ᵀX)ᵀ + λW⁰ᵀ)·Uᵀ)·U, three products of [N × K] blocks.
 */
import type { LayerState } from './method.js';
import type { BiasPair } from './reconstruct.js';
import type { ProductFactory } from './products.js';
import { augment, factorOf } from './factors.js';

/** Replaces the state's target and start weights (and the bias pair's) by w*; false when not applicable. */
export async function correctTowardsDense(state: LayerState, bias: BiasPair | undefined, ridge: number, products: ProductFactory): Promise<boolean> {
  const s = state.stats;
  if (!s?.gram || !s.cross) return false;
  const { k, columns: n } = state;
  const withBias = bias !== undefined && s.sums !== undefined && s.denseSums !== undefined && s.rows > 0;
  const { k: kk, u, lambda } = factorOf(s, ridge, withBias);
  const c = withBias ? augment(s.cross, k, s.sums!, s.denseSums!, s.rows) : s.cross;
  const w0 = new Float32Array(n * kk);
  for (let col = 0; col < n; col++) {
    for (let i = 0; i < k; i++) w0[col * kk + i] = state.dense[col * k + i]!;
    if (withBias) w0[col * kk + k] = bias.dense[col]!;
  }
  const rhs = await products.create(transpose(c, kk), kk, n).multiply(w0, n);
  for (let i = 0; i < rhs.length; i++) rhs[i]! += lambda * w0[i]!;
  const t = await products.create(transpose(u, kk), kk, n).multiply(rhs, n);
  const w = await products.create(u, kk, n).multiply(t, n);
  for (let col = 0; col < n; col++) {
    for (let i = 0; i < k; i++) state.dense[col * k + i] = w[col * kk + i]!;
    if (withBias) { bias.dense[col] = w[col * kk + k]!; bias.current[col] = w[col * kk + k]!; }
  }
  state.weights.set(state.dense);
  return true;
}

function transpose(a: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[j * k + i] = a[i * k + j]!;
  return out;
}
