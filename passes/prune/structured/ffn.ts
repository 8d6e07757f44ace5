/**
 * Feed-forward channels: intermediate channel j is column j of every producing projection (up, gate) and
 * row j of the consuming one (down); removing it drops all three.
 *   x ─ up/gate [H × F] ─ act ─ (⊙) ─ down [F × H]   ->   x ─ up/gate [H × F'] ─ act ─ (⊙) ─ down [F' × H]
 * Works for gated (SwiGLU) and plain (GELU) MLPs, MatMul or Gemm, any weight layout.
 */
import type { TransformerBlock } from '../../../src/analysis/transformer.js';
import type { Linear } from '../../../src/analysis/linear.js';
import { addOutputBias, columnNorms, keepColumns, keepRows, logicalWeight, rowNorms, weightSlot } from './weights.js';
import { forgetShapes, regionBetween, rewriteShapes, type ShapeEdits } from './shapes.js';
import { keepHighest } from './ranking.js';
import { refitRows } from './refit.js';
import { obsRemovalOrder, selectByObs, type RemovalOrder } from './obs.js';
import type { InputStatistics } from './statistics.js';
import { heldOutRidge, type GramSplit, type RidgeChoice } from './ridge.js';

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
  /** The refit added a bias (or changed the existing one). */
  readonly bias: boolean;
}

/**
 * The down projection as a refit problem. A Gram matrix of [X, 1] ((K+1)², statistics.ts) adds a constant
 * input with a zero weight row: the refit then gives it a bias, and selection never removes it.
 */
interface DownProblem {
  readonly w: Float32Array;
  readonly k: number;
  readonly n: number;
  /** Index of the constant input, when there is one. */
  readonly constant: number | undefined;
}

function downProblem(plan: FfnPlan, gram: Float64Array | undefined): DownProblem {
  const d = weightSlot(plan.down);
  const w = logicalWeight(d);
  if (!gram || gram.length === d.k * d.k) return { w, k: d.k, n: d.n, constant: undefined };
  const padded = new Float32Array((d.k + 1) * d.n);
  padded.set(w);
  return { w: padded, k: d.k + 1, n: d.n, constant: d.k };
}

/** The refit rows: the kept channels, then the constant input when there is one. */
function refitSet(p: DownProblem, keep: readonly number[]): number[] {
  return p.constant === undefined ? [...keep] : [...keep, p.constant];
}

/** Keeps the given channels (ascending); refits down when a Gram matrix of its input is at hand. */
export function applyFfn(plan: FfnPlan, keep: readonly number[], gram: Float64Array | undefined, ridge: number): FfnResult {
  const p = downProblem(plan, gram);
  const rows = gram ? refitRows(p.w, p.k, p.n, gram, refitSet(p, keep), ridge) : undefined;
  const region = regionBetween(plan.producers.map((l) => l.output), plan.down.input, plan.block.nodes);
  const edits = rewriteShapes(region, new Map([[plan.width, keep.length]]));
  for (const l of plan.producers) keepColumns(l, keep);
  keepRows(plan.down, keep, rows?.slice(0, keep.length * p.n));
  const bias = !!rows && p.constant !== undefined;
  if (bias) addOutputBias(plan.down, rows.slice(keep.length * p.n));
  forgetShapes([...region, ...plan.producers.map((l) => l.node), ...weightReaders(plan)]);
  return { ...edits, kept: keep.length, refit: !!rows, bias };
}

/** The number of channels a ratio removes keeps at least one. */
export function ffnKeepCount(width: number, ratio: number): number {
  return Math.max(1, width - Math.round(ratio * width));
}

/** `keep` channels: the cheapest to refit away when a Gram matrix is given, else the highest scores. */
export function pickFfn(plan: FfnPlan, keep: number, stats: InputStatistics | undefined, gram: Float64Array | undefined, ridge: number): number[] {
  if (!gram) return keepHighest(ffnScores(plan, stats), keep);
  const p = downProblem(plan, gram);
  return selectByObs(p.w, p.k, p.n, gram, 1, keep, ridge, plan.width);
}

/** The first `count` channels the refit-aware criterion removes, with the output error each adds. */
export function ffnRemovalOrder(plan: FfnPlan, gram: Float64Array, ridge: number, count: number): RemovalOrder {
  const p = downProblem(plan, gram);
  return obsRemovalOrder(p.w, p.k, p.n, gram, 1, count, ridge, plan.width);
}

/** The residual stream after the MLP's join (the sum it writes), when it is found. */
export function streamAfterMlp(plan: FfnPlan): string | undefined {
  const sub = plan.block.sublayers.find((s) => s.kind === 'mlp' && s.mlp === plan.block.mlp);
  return sub?.join?.output?.name;
}

/** The refit's ridge, chosen on held-out rows for keeping the `keep` channels of most output energy E[h²]·‖down row‖². */
export function ffnRidge(plan: FfnPlan, split: GramSplit, keep: number): RidgeChoice {
  const p = downProblem(plan, split.fit);
  const energy = rowNorms(p.w, plan.width, p.n).map((r, j) => r * r * split.fit[j * p.k + j]!);
  return heldOutRidge(p.w, p.k, p.n, split, refitSet(p, keepHighest(energy, keep)));
}

function weightReaders(plan: FfnPlan) {
  return [...plan.producers, plan.down].map((l) => weightSlot(l).reader);
}
