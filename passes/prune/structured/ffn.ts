/**
 * Feed-forward channels: intermediate channel j is column j of every producing projection (up, gate) and
 * row j of the consuming one (down); removing it drops all three.
 *   x ─ up/gate [H × F] ─ act ─ (⊙) ─ down [F × H]   ->   x ─ up/gate [H × F'] ─ act ─ (⊙) ─ down [F' × H]
 * Works for gated (SwiGLU) and plain (GELU) MLPs, MatMul or Gemm, any weight layout.
 */
import type { TransformerBlock } from '../../../src/analysis/transformer.js';
import type { Linear } from '../../../src/analysis/linear.js';
import { columnNorms, keepColumns, keepRows, logicalWeight, rowNorms, weightSlot } from './weights.js';
import { forgetShapes, regionBetween, rewriteShapes, type ShapeEdits } from './shapes.js';
import { keepHighest } from './ranking.js';
import { refitRows } from './refit.js';
import { selectByObs } from './obs.js';
import type { InputStatistics } from './statistics.js';

export interface FfnPlan {
  readonly block: TransformerBlock;
  readonly producers: readonly Linear[];
  readonly down: Linear;
  readonly width: number;
}

/** The MLP of a block as we can cut it, or the reason it cannot be. */
export function planFfn(block: TransformerBlock): FfnPlan | string {
  const mlp = block.mlp;
  if (!mlp) return 'no MLP found';
  const down = mlp.down.length === 1 ? mlp.down[0]! : undefined;
  const producers = [...mlp.gate, ...mlp.up];
  const width = down?.k;
  if (!down || !width) return 'not exactly one down projection';
  if (!mlp.up.length && mlp.gated) return 'gate and up fused in one product';
  if (!producers.length || producers.some((l) => l.n !== width)) return 'the up/gate widths differ from the down input';
  return { block, producers, down, width };
}

/** Scores of the intermediate channels: weight norms, or mean |activation| × ‖down row‖. */
export function ffnScores(plan: FfnPlan, stats: InputStatistics | undefined): Float64Array {
  const d = weightSlot(plan.down);
  const downRows = rowNorms(logicalWeight(d), d.k, d.n);
  if (stats) return downRows.map((r, j) => r * stats.absMean[j]!);
  const scores = Float64Array.from(downRows);
  for (const l of plan.producers) {
    const s = weightSlot(l);
    const cols = columnNorms(logicalWeight(s), s.k, s.n);
    for (let j = 0; j < scores.length; j++) scores[j]! *= cols[j]!;
  }
  return scores;
}

export interface FfnResult extends ShapeEdits {
  readonly kept: number;
  readonly refit: boolean;
}

/** Keeps the given channels (ascending); refits down when a Gram matrix of its input is at hand. */
export function applyFfn(plan: FfnPlan, keep: readonly number[], gram: Float64Array | undefined, ridge: number): FfnResult {
  const d = weightSlot(plan.down);
  const rows = gram ? refitRows(logicalWeight(d), d.k, d.n, gram, keep, ridge) : undefined;
  const region = regionBetween(plan.producers.map((l) => l.output), plan.down.input, plan.block.nodes);
  const edits = rewriteShapes(region, new Map([[plan.width, keep.length]]));
  for (const l of plan.producers) keepColumns(l, keep);
  keepRows(plan.down, keep, rows);
  forgetShapes([...region, ...plan.producers.map((l) => l.node), ...weightReaders(plan)]);
  return { ...edits, kept: keep.length, refit: !!rows };
}

/** The number of channels a ratio removes keeps at least one. */
export function ffnKeepCount(width: number, ratio: number): number {
  return Math.max(1, width - Math.round(ratio * width));
}

/** Channels to keep: the cheapest to refit away when a Gram matrix is given, else the highest scores. */
export function pickFfn(plan: FfnPlan, ratio: number, stats: InputStatistics | undefined, gram: Float64Array | undefined, ridge: number): number[] {
  const keep = ffnKeepCount(plan.width, ratio);
  if (!gram) return keepHighest(ffnScores(plan, stats), keep);
  const d = weightSlot(plan.down);
  return selectByObs(logicalWeight(d), d.k, d.n, gram, 1, keep, ridge);
}

function weightReaders(plan: FfnPlan) {
  return [...plan.producers, plan.down].map((l) => weightSlot(l).reader);
}
