/**
 * Which layers a pruning pass touches. Left dense, each with a reason for --explain:
 *   excluded by name, /regex/ or op type;
 *   the output head (unless includeHead): pruning the vocabulary projection costs far more quality per
 *   weight than any block layer, and it is a small share of a large model's weights;
 *   a weight that other nodes read too (a tied table): pruning it would change them as well.
 */
import type { Model } from '../../../src/ir/model.js';
import type { PassContext } from '../../../src/pipeline/pass.js';
import { isExcluded } from '../../quantize/quantize-weight-only.js';
import { findHeadLayers } from '../../quantize/weight-only/head.js';
import { findPrunableLayers, weightReaders, type PrunableLayer } from './layers.js';
import { warnPackedAttention } from '../../quantize/linear-layers.js';

export interface Selection {
  readonly layers: PrunableLayer[];
  readonly skipped: number;
  readonly heads: number;
}

export function selectLayers(model: Model, o: { exclude: readonly string[]; includeHead: boolean }, pass: string, ctx: PassContext): Selection {
  const { layers, rejected, packedAttention } = findPrunableLayers(model);
  for (const r of rejected) ctx.explain(pass, `${r.node.describe()}: ${r.reason}`);
  warnPackedAttention(ctx, pass, packedAttention, 'prune');
  const heads = o.includeHead ? new Set<PrunableLayer>() : (findHeadLayers(layers) as Set<PrunableLayer>);
  const chosen = layers.filter((l) => {
    const why = isExcluded(l.node, o.exclude) ? 'excluded'
      : heads.has(l) ? 'output head (includeHead to prune it)'
      : weightReaders(l) > 1 ? 'its weight is read by other nodes too'
      : undefined;
    if (why) ctx.explain(pass, `${l.node.describe()}: ${why}`);
    return why === undefined;
  });
  return { layers: chosen, skipped: rejected.length + layers.length - chosen.length, heads: heads.size };
}
