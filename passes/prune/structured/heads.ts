/**
 * Attention heads: query head h owns columns [h·D, (h+1)·D) of Q and rows of the same range of O; key/value
 * group g (grouped-query attention: query heads g·rep … g·rep+rep−1 read it) owns columns [g·D, (g+1)·D) of
 * K and V. Whole groups go, with their query heads, so H' = G'·rep still divides.
 *   q [E × H·D], k/v [E × G·D], o [H·D × E]   ->   q [E × H'·D], k/v [E × G'·D], o [H'·D × E]
 * A fused QKV projection (GPT-2's c_attn, then Split) keeps the matching columns of each part. Reshape,
 * Expand and Split targets between the projections and O are rewritten (shapes.ts), and the head-count
 * attributes of fused attention ops are updated.
 */
import type { AttentionInfo, TransformerBlock } from '../../../src/analysis/transformer.js';
import type { Linear } from '../../../src/analysis/linear.js';
import { ConfigError } from '../../../src/errors.js';
import { columnNorms, keepColumns, keepRows, logicalWeight, rowNorms, weightSlot } from './weights.js';
import { forgetShapes, regionBetween, rewriteShapes, type ShapeEdits } from './shapes.js';
import { expandUnits, keepHighest } from './ranking.js';
import { refitRows } from './refit.js';
import { selectByObs } from './obs.js';
import type { InputStatistics } from './statistics.js';
import { heldOutRidge, type GramSplit, type RidgeChoice } from './ridge.js';
import { headsProblem, headsRequested } from './request.js';

export interface HeadsPlan {
  readonly block: TransformerBlock;
  readonly attention: AttentionInfo;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** The Q, K and V projections; one linear for all three when fused. */
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
}

export function planHeads(block: TransformerBlock): HeadsPlan | string {
  if (block.attention.length !== 1) return `${block.attention.length} attention cores`;
  const a = block.attention[0]!;
  const { heads, kvHeads, headDim } = a;
  if (!heads || !kvHeads || !headDim) return 'head count or head size unknown';
  // com.microsoft Attention's packed [Q | K | V] weight and bias are cut like a fused QKV projection;
  // a quantized one (QAttention) is not.
  if (a.core.projectionInside && a.core.op !== 'com.microsoft.Attention') return `${a.core.op} holds its projections`;
  const [q, k, v] = [a.q, a.k, a.v].map((l) => (l.length === 1 ? l[0] : undefined));
  const os = block.linears.filter((l) => l.role === 'o');
  if (!q || !k || !v || os.length !== 1) return 'not one projection each for Q, K, V and O';
  const fused = q === k && k === v;
  if (!fused && (q.n !== heads * headDim || k.n !== kvHeads * headDim || v.n !== kvHeads * headDim)) return 'projection widths do not match the heads';
  if (fused && q.n !== (heads + 2 * kvHeads) * headDim) return 'the fused projection is not [Q | K | V]';
  if (os[0]!.linear.k !== heads * headDim) return 'the output projection does not read every head';
  return { block, attention: a, heads, kvHeads, headDim, q, k, v, o: os[0]!.linear };
}

/** Key/value groups to remove for a request of `heads` query heads (a count ≥ 1) or a fraction of them (< 1). */
export function groupsToRemove(plan: HeadsPlan, request: number): number {
  const block = { index: plan.block.index, heads: plan.heads, kvHeads: plan.kvHeads };
  const problem = headsProblem(block, request);
  if (problem) throw new ConfigError(`heads ${request}: ${problem}`);
  return headsRequested(block, request) / (plan.heads / plan.kvHeads);
}

/** A score per key/value group: Σ over its query heads of (value path norm × output rows norm), or E[x²]·‖o row‖². */
export function groupScores(plan: HeadsPlan, stats: InputStatistics | undefined): Float64Array {
  const { heads, kvHeads, headDim: d } = plan;
  const rep = heads / kvHeads;
  const o = weightSlot(plan.o);
  const oRows = rowNorms(logicalWeight(o), o.k, o.n);
  const v = weightSlot(plan.v);
  const vCols = columnNorms(logicalWeight(v), v.k, v.n);
  const vOffset = plan.v === plan.q ? (heads + kvHeads) * d : 0;
  const scores = new Float64Array(kvHeads);
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / rep);
    let s = 0;
    if (stats) {
      for (let c = h * d; c < (h + 1) * d; c++) s += stats.squareMean[c]! * oRows[c]! ** 2;
    } else {
      let on = 0;
      let vn = 0;
      for (let c = 0; c < d; c++) { on += oRows[h * d + c]! ** 2; vn += vCols[vOffset + g * d + c]! ** 2; }
      s = Math.sqrt(on * vn);
    }
    scores[g]! += s;
  }
  return scores;
}

export interface HeadsResult extends ShapeEdits {
  readonly keptHeads: number;
  readonly refit: boolean;
  readonly attributes: number;
}

/** Keeps the given key/value groups (ascending) and their query heads. */
export function applyHeads(plan: HeadsPlan, groups: readonly number[], gram: Float64Array | undefined, ridge: number): HeadsResult {
  const { heads: h, kvHeads: g, headDim: d } = plan;
  const rep = h / g;
  const queryHeads = groups.flatMap((x) => Array.from({ length: rep }, (_, r) => x * rep + r));
  const qKeep = expandUnits(queryHeads, d);
  const kvKeep = expandUnits(groups, d);
  const [h2, g2] = [queryHeads.length, groups.length];
  const o = weightSlot(plan.o);
  const rows = gram ? refitRows(logicalWeight(o), o.k, o.n, gram, qKeep, ridge) : undefined;
  const fused = plan.q === plan.k;
  const outputs = fused ? [plan.q.output] : [plan.q.output, plan.k.output, plan.v.output];
  const region = regionBetween(outputs, plan.o.input, plan.block.nodes);
  const map = new Map<number, number>([[h * d, h2 * d], [g * d, g2 * d], [h, h2], [g, g2], [(h + 2 * g) * d, (h2 + 2 * g2) * d]]);
  const edits = rewriteShapes(region, map, (old) => (old.every((x) => map.has(x)) ? old.map((x) => map.get(x)!) : undefined));
  const attributes = setHeadAttributes(plan, h2, g2);
  if (fused) keepColumns(plan.q, [...qKeep, ...kvKeep.map((c) => c + h * d), ...kvKeep.map((c) => c + (h + g) * d)]);
  else {
    keepColumns(plan.q, qKeep);
    keepColumns(plan.k, kvKeep);
    keepColumns(plan.v, kvKeep);
  }
  keepRows(plan.o, qKeep, rows);
  forgetShapes([...region, ...[plan.q, plan.k, plan.v, plan.o].flatMap((l) => [l.node, weightSlot(l).reader])]);
  return { ...edits, keptHeads: h2, refit: !!rows, attributes };
}

/** num_heads / kv_num_heads / q_num_heads of a fused attention op. */
function setHeadAttributes(plan: HeadsPlan, heads: number, kvHeads: number): number {
  const node = plan.attention.core.node;
  if (plan.attention.core.form !== 'fused') return 0;
  let changed = 0;
  for (const [name, value] of [['num_heads', heads], ['q_num_heads', heads], ['kv_num_heads', kvHeads]] as const) {
    if (node.getInt(name) === undefined) continue;
    node.setAttribute(name, { type: 'int', value });
    changed++;
  }
  if (node.getInts('qkv_hidden_sizes')) {
    const d = plan.headDim;
    node.setAttribute('qkv_hidden_sizes', { type: 'ints', value: [heads * d, kvHeads * d, kvHeads * d] });
    changed++;
  }
  return changed;
}

/** The output projection's refit ridge, chosen on held-out rows for keeping the groups of highest score. */
export function headsRidge(plan: HeadsPlan, request: number, stats: InputStatistics, split: GramSplit): RidgeChoice {
  const keep = plan.kvHeads - groupsToRemove(plan, request);
  const rep = plan.heads / plan.kvHeads;
  const groups = keepHighest(groupScores(plan, stats), keep);
  const o = weightSlot(plan.o);
  return heldOutRidge(logicalWeight(o), o.k, o.n, split, expandUnits(groups, rep * plan.headDim));
}

/** Key/value groups to keep: the cheapest to refit away when a Gram matrix is given, else the highest scores. */
export function pickGroups(plan: HeadsPlan, request: number, stats: InputStatistics | undefined, gram: Float64Array | undefined, ridge: number): number[] {
  const keep = plan.kvHeads - groupsToRemove(plan, request);
  if (!gram || keep === plan.kvHeads) return keepHighest(groupScores(plan, stats), keep);
  const o = weightSlot(plan.o);
  const size = (plan.heads / plan.kvHeads) * plan.headDim;
  return selectByObs(logicalWeight(o), o.k, o.n, gram, size, keep, ridge);
}
