/**
 * Global scope: one ranking of every selected weight by the method's importance on the dense model decides
 * how many weights each layer loses (the lowest `sparsity` share of all of them); each layer is then pruned
 * to its count by the method as usual. Layers whose weights matter less give up more.
 */
import { markLowest, pruneCount } from '../../../src/math/sparsity.js';
import type { PrunableLayer } from './layers.js';
import type { LayerState, PruneMethod } from './method.js';

export function allocateGlobal(states: readonly LayerState[], method: PruneMethod, sparsity: number): Map<PrunableLayer, number> {
  const total = states.reduce((n, s) => n + s.weights.length, 0);
  const scores = new Float64Array(total);
  let at = 0;
  for (const s of states) {
    scores.set(method.scores(s), at);
    at += s.weights.length;
  }
  const mask = new Uint8Array(total);
  markLowest(scores, mask, 0, total, pruneCount(total, sparsity));
  const out = new Map<PrunableLayer, number>();
  at = 0;
  for (const s of states) {
    let count = 0;
    for (let i = at; i < at + s.weights.length; i++) count += mask[i]!;
    out.set(s.layer, count);
    at += s.weights.length;
  }
  return out;
}
