/**
 * Wanda (Sun et al., 2023): prune by |W_kn|·‖X_k‖₂, a weight's magnitude times the norm of its input
 * channel over the calibration tokens, compared among the weights of one output (n) by default:
 *   MatMul(x, W) / Gemm(x, W, b)  ->  same nodes, W with zeros (kept weights and b refit when `reconstruct`)
 * An input channel with large activations (the outliers of trained LLMs) protects its weights even when
 * they are small. With a pattern, each group of M consecutive inputs of an output keeps its N best scores.
 * Needs calibration data: ‖X_k‖ of every layer input, collected layer by layer on the model as pruned so far.
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import { markNm } from '../../src/math/sparsity.js';
import { commonPruneOptions, patternScopeIssue, patternScopeOk } from './engine/options.js';
import { applyMask, markCount, type LayerState, type PruneMethod } from './engine/method.js';
import { runPruning } from './engine/run.js';

export const WandaOptions = z.object({
  ...commonPruneOptions,
  perOutput: z.boolean().default(true).describe('compare scores among the weights of each output (as Wanda does); off: among all weights of the layer'),
}).strict().refine(patternScopeOk, patternScopeIssue);

/** ‖X_k‖₂ per input channel, from Σx² or from the diagonal of XᵀX. */
function channelNorms(state: LayerState): Float64Array {
  const s = state.stats;
  if (s?.squares) return s.squares.map(Math.sqrt);
  if (s?.gram) return Float64Array.from({ length: state.k }, (_, i) => Math.sqrt(s.gram![i * state.k + i]!));
  throw new RangeError(`wanda: no activation statistics for ${state.layer.label}`);
}

function scoresOf(w: Float64Array, norms: Float64Array, k: number): Float64Array {
  const out = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = Math.abs(w[i]!) * norms[i % k]!;
  return out;
}

function wanda(perOutput: boolean): PruneMethod {
  return {
    needs: { gram: false, squares: true },
    step(state, target) {
      const scores = scoresOf(state.weights, channelNorms(state), state.k);
      if (target.kind === 'pattern') markNm(scores, state.mask, state.k, state.columns, target.pattern);
      else markCount(scores, state.mask, perOutput ? state.k : state.weights.length, target.total);
      applyMask(state);
    },
    scores: (state) => scoresOf(state.dense, channelNorms(state), state.k),
  };
}

export default definePass({
  name: 'prune-wanda',
  description: 'prune linear layers by |weight| × input activation norm (Wanda), per output; unstructured or N:M',
  options: WandaOptions,
  requires: ['calibration', 'topo-sorted'],
  run: (model, options, ctx) => runPruning(model, wanda(options.perOutput), options, ctx, 'prune-wanda'),
});
