/** What a pruning method supplies to the engine: which weights go at each step, and global scores. */
import type { PrunableLayer } from './layers.js';
import type { InputStatistics } from './statistics.js';
import type { ObsTarget } from './obs.js';
import { distribute, markLowestPerGroup } from '../../../src/math/sparsity.js';

/** One layer being pruned: dense and current weights as [N][K], and the mask (1 = pruned). */
export interface LayerState {
  readonly layer: PrunableLayer;
  readonly k: number;
  readonly columns: number;
  readonly dense: Float64Array;
  readonly weights: Float64Array;
  readonly mask: Uint8Array;
  /** Calibration statistics of the layer's input (on the model as pruned so far), when calibrated. */
  readonly stats: InputStatistics | undefined;
}

/** After a step: `total` weights of the layer pruned, or every group at most N of M. */
export type StepTarget = ObsTarget;

export interface PruneMethod {
  /** Statistics the method itself needs (reconstruction adds XᵀX). */
  readonly needs: { readonly gram: boolean; readonly squares: boolean };
  /** Extends the mask to the step's target and sets the weights (pruned ones to zero). */
  step(state: LayerState, target: StepTarget): void;
  /** Importance of every weight of the dense layer, [N][K], for the global ranking (higher = kept). */
  scores(state: LayerState): Float64Array;
}

/**
 * Count targets over groups of `groupSize` consecutive [N][K] entries (a column, or the whole layer): the
 * weights still to prune are spread over groups in proportion to their unpruned weights.
 */
export function markCount(scores: Float64Array, mask: Uint8Array, groupSize: number, total: number): void {
  const groups = Math.ceil(mask.length / groupSize);
  const free = new Float64Array(groups);
  let pruned = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) pruned++;
    else free[Math.floor(i / groupSize)]! += 1;
  }
  markLowestPerGroup(scores, mask, groupSize, distribute(Math.max(0, total - pruned), free));
}

/** Zeroes the pruned weights. */
export function applyMask(state: LayerState): void {
  const { weights, mask } = state;
  for (let i = 0; i < mask.length; i++) if (mask[i]) weights[i] = 0;
}
