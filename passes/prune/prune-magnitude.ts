/**
 * Magnitude pruning of linear layers: the weights of smallest |w| become zero.
 *   MatMul(x, W) / Gemm(x, W, b)  ->  same nodes, W with zeros (and, with calibration data and `reconstruct`,
 *                                      the kept weights and b refit to the dense outputs)
 * scope layer compares a layer's weights with each other; global compares all selected weights at once.
 * With a pattern (2:4), every group of M consecutive input weights of an output keeps its N largest.
 * Needs no calibration data; given some, reconstruction refits each layer after pruning.
 * Seen on torch.onnx exports (MatMul [K,N] weights), dynamo exports ([N,K] behind a Transpose) and GPT-2's Gemm.
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import { markNm } from '../../src/math/sparsity.js';
import { commonPruneOptions, patternScopeIssue, patternScopeOk } from './engine/options.js';
import { applyMask, markCount, type PruneMethod } from './engine/method.js';
import { runPruning } from './engine/run.js';

export const MagnitudeOptions = z.object(commonPruneOptions).strict().refine(patternScopeOk, patternScopeIssue);

const magnitude: PruneMethod = {
  needs: { gram: false, squares: false },
  step(state, target) {
    const scores = state.weights.map(Math.abs);
    if (target.kind === 'pattern') markNm(scores, state.mask, state.k, state.columns, target.pattern);
    else markCount(scores, state.mask, state.weights.length, target.total);
    applyMask(state);
  },
  scores: (state) => state.dense.map(Math.abs),
};

export default definePass({
  name: 'prune-magnitude',
  description: 'zero the smallest-magnitude weights of linear layers (unstructured or N:M), optionally refit on calibration data',
  options: MagnitudeOptions,
  requires: ['topo-sorted'],
  run: (model, options, ctx) => runPruning(model, magnitude, options, ctx, 'prune-magnitude'),
});
