/**
 * SparseGPT (Frantar & Alistarh, 2023): one-shot pruning with second-order weight updates.
 *   MatMul(x, W) / Gemm(x, W, b)  ->  same nodes, W with zeros and its remaining weights updated
 * For each layer, H = XᵀX of its input over the calibration tokens (collected layer by layer on the model as
 * pruned so far); inputs are visited in blocks, each pruned weight's loss is compensated by the weights not
 * yet visited through the Cholesky factor of (H + λI)⁻¹ (engine/obs.ts). Masks are chosen on the way by
 * the saliency w²/[H⁻¹]ᵢᵢ; with a pattern, N of every M consecutive inputs of an output are kept.
 * `reconstruct` then solves the kept weights (and bias) exactly on their support.
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import { inverseDiagonal } from '../../src/math/least-squares.js';
import { factorOf } from './engine/factors.js';
import { commonPruneOptions, patternScopeIssue, patternScopeOk } from './engine/options.js';
import type { LayerState, PruneMethod } from './engine/method.js';
import { obsPrune } from './engine/obs.js';
import { runPruning } from './engine/run.js';

export const SparseGptOptions = z.object({
  ...commonPruneOptions,
  blockSize: z.number().int().min(1).max(4096).default(128).describe('inputs per block of immediate updates (rounded down to a multiple of M with a pattern)'),
  perOutput: z.boolean().default(true).describe('unstructured: every output loses the same share of each block (off: one ranking over the block\'s inputs and all outputs, as the reference does)'),
}).strict().refine(patternScopeOk, patternScopeIssue);

function sparseGpt(ridge: number, blockSize: number, perOutput: boolean): PruneMethod {
  // Layers reading one input share its factorization (and error correction uses the same one).
  const factor = (state: LayerState): Float64Array => {
    if (!state.stats?.gram) throw new RangeError(`sparsegpt: no XᵀX for ${state.layer.label}`);
    return factorOf(state.stats, ridge, false).u;
  };
  return {
    needs: { gram: true, squares: false },
    step(state, target) {
      obsPrune({ k: state.k, columns: state.columns, u: factor(state), weights: state.weights, mask: state.mask, target, blockSize, perOutput });
    },
    scores(state) {
      // OBS saliency w²/[H⁻¹]ᵢᵢ: the output error of removing one weight alone.
      const k = state.k;
      const inverse = inverseDiagonal(factor(state), k);
      return Float64Array.from(state.dense, (v, i) => (v * v) / inverse[i % k]!);
    },
  };
}

export default definePass({
  name: 'prune-sparsegpt',
  description: 'prune linear layers one-shot with Hessian-based (OBS) updates of the remaining weights (SparseGPT); unstructured or N:M',
  options: SparseGptOptions,
  requires: ['calibration', 'topo-sorted'],
  run: (model, options, ctx) => runPruning(model, sparseGpt(options.ridge, options.blockSize, options.perOutput), options, ctx, 'prune-sparsegpt'),
});
