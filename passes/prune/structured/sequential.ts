/**
 * Sequential FFN reconstruction: blocks are cut in order, each against the model as pruned so far, so the
 * refit of block b also absorbs the error of blocks < b. With X̃ the down projection's input in the pruned
 * model, X the dense one and W the dense weights, the refit target is the dense output X·W ('output'), or
 * what the sublayer must add for the stream after it to be the dense one, X·W + R − R̃ with R the stream
 * the MLP's residual join reads ('residual'). The full-width optimum W* = (X̃ᵀX̃ + λI)⁻¹·(X̃ᵀT + λW) turns
 * the target into X̃·W* (the rest of T is out of reach of any X̃_S), so selection (obs.ts) and refit
 * (refit.ts) run unchanged on X̃ᵀX̃ and W*.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { applyFfn, type FfnPlan, type FfnResult } from './ffn.js';
import { logicalWeight, storeWeight, weightSlot } from './weights.js';
import { collectProducts, type ProductRequest } from './products.js';
import { solveRidge } from './refit.js';
import { selectByObs } from './obs.js';
import { ridgeValue } from '../../../src/math/least-squares.js';

export type RefitTarget = 'output' | 'residual';

export interface SequentialOptions {
  /** Channels kept. */
  readonly keep: number;
  readonly ridge: number;
  readonly rows: number;
  readonly target: RefitTarget;
}

/** Cuts and refits one block's MLP against the dense model; undefined when its statistics cannot be had. */
export async function pruneFfnAgainstDense(model: Model, dense: Model, data: Dataset, plan: FfnPlan, o: SequentialOptions): Promise<FfnResult | undefined> {
  const d = weightSlot(plan.down);
  const [k, n] = [d.k, d.n];
  const x = plan.down.input.name;
  const stream = o.target === 'residual' ? mlpStream(plan) : undefined;
  const requests: ProductRequest[] = [
    { left: x, kLeft: k, right: x, kRight: k, dense: false },
    { left: x, kLeft: k, right: x, kRight: k, dense: true },
  ];
  if (stream) {
    requests.push({ left: x, kLeft: k, right: stream, kRight: n, dense: true });
    requests.push({ left: x, kLeft: k, right: stream, kRight: n, dense: false });
  }
  const sums = await collectProducts(model, dense, data, o.rows, requests);
  if (!sums) return undefined;
  const [gram, cross, denseStream, ownStream] = sums as [Float64Array, Float64Array, Float64Array?, Float64Array?];
  const w = logicalWeight(d);
  const rhs = multiply(cross, w, k, n);
  // Damping pulls toward the dense weights rather than toward zero.
  const lambda = ridgeValue(gram, k, o.ridge);
  for (let i = 0; i < rhs.length; i++) rhs[i]! += lambda * w[i]!;
  if (denseStream && ownStream) for (let i = 0; i < rhs.length; i++) rhs[i]! += denseStream[i]! - ownStream[i]!;
  const best = Float32Array.from(solveRidge(gram, k, rhs, n, o.ridge));
  const keep = selectByObs(best, k, n, gram, 1, o.keep, o.ridge);
  storeWeight(d, best, k, n);
  return applyFfn(plan, keep, gram, o.ridge);
}

/** The residual stream the MLP's join adds to, when it is found. */
function mlpStream(plan: FfnPlan): string | undefined {
  const sub = plan.block.sublayers.find((s) => s.kind === 'mlp' && s.mlp === plan.block.mlp);
  return sub?.join?.stream.name;
}

/** A·W for A [k × k] (float64) and W [k × n]. */
function multiply(a: Float64Array, w: Float32Array, k: number, n: number): Float64Array {
  const out = new Float64Array(k * n);
  for (let i = 0; i < k; i++) {
    const row = out.subarray(i * n, (i + 1) * n);
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p]!;
      if (x === 0) continue;
      const base = p * n;
      for (let c = 0; c < n; c++) row[c]! += x * w[base + c]!;
    }
  }
  return out;
}
