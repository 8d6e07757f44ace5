/**
 * Structured pruning: the model really shrinks. Per transformer block (found from the computation by
 * detectTransformer, never from names):
 *   FFN channels:  up/gate [E × F] ─ act ─ down [F × E]        ->  [E × F'] ─ act ─ [F' × E]
 *   heads:         q [E × H·D], k/v [E × G·D], o [H·D × E]    ->  H' = G'·rep heads, whole key/value groups
 *   blocks:        h ─┬─ block ─ h'                           ->  h ─ h'
 * Shape constants between the projections (Reshape/Expand targets, Split sizes, head-count attributes) follow,
 * so the model runs for any batch and sequence length. With calibration data, channels may be ranked by their
 * activations and the consuming projection (down, o) is refit by ridge least squares to the dense output
 * (down with a bias that takes the mean of the removed channels: ─ down ─ Add(b) ─ when it had none); the FFN
 * budget is spent across blocks where the refit error relative to the residual stream is least (budget.ts);
 * `sequential` cuts the MLPs block by block, each refit on the inputs of the model as pruned so far.
 * Exporters seen: torch.onnx (TorchScript, dynamo), LLaMA (GQA, SwiGLU), GPT-2 (Gemm, fused QKV + Split), BERT.
 */
import { z } from 'zod';
import { definePass, type PassContext } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import { detectTransformer, type TransformerBlock } from '../../src/analysis/transformer.js';
import { countParameters } from '../../src/analysis/parameters.js';
import { ConfigError } from '../../src/errors.js';
import { applyFfn, ffnKeepCount, ffnRidge, pickFfn, planFfn, streamAfterMlp, type FfnPlan, type FfnResult } from './structured/ffn.js';
import { applyHeads, headsRidge, pickGroups, planHeads, type HeadsPlan } from './structured/heads.js';
import { blockEnds, bypassBlock } from './structured/layers.js';
import { layersProblem } from './structured/request.js';
import { collectInputStatistics, meanSquaredNorm, type InputStatistics } from './structured/statistics.js';
import { pruneFfnAgainstDense } from './structured/sequential.js';
import { ffnBudget, keptByOrder, type BlockEvidence, type FfnCut } from './structured/budget.js';
import { cloneModel } from '../../src/ir/clone.js';

const NAME = 'prune-structured';

const Options = z.object({
  ffnRatio: z.number().min(0).lt(1).default(0).describe('fraction of the feed-forward channels removed: in each block (allocation uniform) or over all blocks (global)'),
  heads: z.number().min(0).default(0).describe('attention heads removed per block: a count (≥ 1, whole key/value groups) or a fraction of the heads (< 1)'),
  layers: z.array(z.number().int().min(0)).default([]).describe('indices of whole blocks to remove (bypassed on the residual stream)'),
  importance: z.enum(['auto', 'norm', 'activation']).default('auto').describe('ranking: weight norms, or calibration activations × weight norms (auto: activation when calibration data is given)'),
  reconstruct: z.boolean().default(true).describe('with calibration data: refit the down / output projection by ridge least squares to the dense output'),
  ridge: z.number().min(0).max(10).default(0.01).describe('damping added to XᵀX, as a fraction of its mean diagonal: in the selection, and in the refit unless ridgeSearch picks one'),
  bias: z.boolean().default(true).describe('with reconstruction: the FFN refit also fits a bias on the down projection (an Add when it has none), taking the mean of the removed channels'),
  ridgeSearch: z.boolean().default(true).describe('choose each refit\'s ridge among candidates by its error on held-out calibration rows (every fourth batch); selection keeps ridge'),
  calibrationRows: z.number().int().min(1).default(32).describe('calibration sequences used, at most'),
  sequential: z.boolean().default(false).describe('with reconstruction: cut FFN blocks in order, each refit on the inputs of the model pruned so far toward the dense model'),
  target: z.enum(['output', 'residual']).default('output').describe('sequential refit target: the dense down output, or the dense residual stream after the MLP'),
  allocation: z.enum(['uniform', 'global']).default('global').describe('FFN cut per block: the same ratio everywhere, or (with calibration and reconstruction) one budget spent where the refit error relative to the residual stream is least'),
  ffnFloor: z.number().min(0).max(1).default(0.5).describe('global allocation: fraction of each block\'s feed-forward channels always kept'),
}).strict();
type Options = z.output<typeof Options>;

export default definePass({
  name: NAME,
  description: 'remove FFN channels, attention heads or whole blocks, shrinking the weights',
  options: Options,
  requires: (o) => (o.importance === 'activation' ? ['calibration'] : []),
  async run(model, options, ctx) {
    const wanted = options.ffnRatio > 0 || options.heads > 0 || options.layers.length > 0;
    if (!wanted) return { modified: false, stats: {} };
    const structure = detectTransformer(model);
    const blocks = structure.blocks;
    if (!blocks.length) throw new ConfigError(`${NAME}: no transformer blocks found`);
    const layers = layersProblem(options.layers, blocks.length);
    if (layers) throw new ConfigError(`layers ${layers.layers.join(',')}: ${layers.problem}`);
    const removedLayers = new Set(options.layers);
    const kept = blocks.filter((b) => !removedLayers.has(b.index));
    const ffn = options.ffnRatio > 0 ? plans(kept, planFfn, 'FFN', ctx) : [];
    const heads = options.heads > 0 ? plans(kept, planHeads, 'heads', ctx) : [];
    const before = countParameters(model).total;
    const sequential = options.sequential && options.reconstruct && !!ctx.calibration && ffn.length > 0;
    // The dense reference of the sequential refit, taken before any edit.
    const dense = sequential ? cloneModel(model) : undefined;
    const global = options.allocation === 'global' && ffn.length > 1;
    const stats = await statistics(model, options, ctx, sequential && !global ? [] : ffn, heads);
    const counts: Record<string, number> = { paramsBefore: before, channelsRemoved: 0, headsRemoved: 0, layersRemoved: 0, shapeTargets: 0, splits: 0, refit: 0, biases: 0 };
    for (const plan of heads) {
      const s = stats.get(plan.o.input.name);
      const gram = refitGram(options, s);
      const act = s && useActivations(options, ctx) ? s : undefined;
      const ridge = act && gram && options.ridgeSearch && act.split ? headsRidge(plan, options.heads, act, act.split).ridge : options.ridge;
      // Selection uses the common ridge (as the FFN orders do); the refit its own.
      const groups = pickGroups(plan, options.heads, act, act ? gram : undefined, options.ridge);
      if (groups.length === plan.kvHeads) continue;
      const r = applyHeads(plan, groups, gram, ridge);
      tally(counts, r, `block${plan.block.index}Heads`, r.keptHeads);
      counts.headsRemoved! += plan.heads - r.keptHeads;
      ctx.explain(NAME, `block ${plan.block.index}: kept ${r.keptHeads} of ${plan.heads} heads (${groups.length} of ${plan.kvHeads} key/value groups)${gram ? `, refit with ridge ${ridge}` : ''}`);
    }
    const ridges = new Map(ffn.map((p) => [p, sequential ? options.ridge : ffnRefitRidge(p, stats.get(p.down.input.name), options, ctx)]));
    const budget = ffnBudget(ffn, { ratio: options.ffnRatio, allocation: options.allocation, floor: options.ffnFloor, ridge: options.ridge }, (p) => evidence(p, stats, options, ctx));
    if (global && budget.fallback) ctx.explain(NAME, `FFN channels cut uniformly: ${budget.fallback}`);
    for (const plan of ffn) {
      const r = await cutFfn(model, dense, plan, budget.cuts.get(plan)!, ridges.get(plan)!, options, ctx, stats.get(plan.down.input.name));
      if (!r) continue;
      tally(counts, r, `block${plan.block.index}Channels`, r.kept);
      counts.channelsRemoved! += plan.width - r.kept;
      if (r.bias) counts.biases!++;
      ctx.explain(NAME, `block ${plan.block.index}: kept ${r.kept} of ${plan.width} FFN channels${r.refit ? `, refit with ridge ${ridges.get(plan)}${r.bias ? ' and a bias' : ''}` : ''}`);
    }
    for (const b of blocks.filter((x) => removedLayers.has(x.index))) {
      const ends = blockEnds(b);
      if (typeof ends === 'string') throw new ConfigError(`${NAME}: cannot remove block ${b.index}: ${ends}`);
      bypassBlock(model.graph, ends);
      counts.layersRemoved!++;
    }
    counts.paramsAfter = countParameters(model).total;
    const modified = counts.channelsRemoved! + counts.headsRemoved! + counts.layersRemoved! > 0;
    return { modified, stats: counts };
  },
});

/** Cuts one block's MLP: sequentially against the dense model when it is given, else from dense statistics. */
async function cutFfn(model: Model, dense: Model | undefined, plan: FfnPlan, cut: FfnCut, ridge: number, o: Options, ctx: PassContext, s: InputStatistics | undefined): Promise<FfnResult | undefined> {
  if (!cut.remove) return undefined;
  if (dense && ctx.calibration) {
    ctx.progress(`${NAME}: block ${plan.block.index}: calibrating against the dense model`);
    const target = { keep: plan.width - cut.remove, ridge: o.ridge, rows: o.calibrationRows, target: o.target };
    const r = await pruneFfnAgainstDense(model, dense, ctx.calibration, plan, target);
    if (r) return r;
    ctx.explain(NAME, `block ${plan.block.index}: no dense reference in the probe, channels ranked by weight norms`);
  }
  const gram = ffnGram(o, s);
  const act = s && useActivations(o, ctx) ? s : undefined;
  const keep = keptByOrder(plan.width, cut) ?? pickFfn(plan, plan.width - cut.remove, act, act ? gram : undefined, ridge);
  return keep.length === plan.width ? undefined : applyFfn(plan, keep, gram, ridge);
}

/** The ridge of a block's down refit: searched on held-out rows when asked and possible, else the option. */
function ffnRefitRidge(plan: FfnPlan, s: InputStatistics | undefined, o: Options, ctx: PassContext): number {
  const split = o.bias ? s?.withConstant?.split : s?.split;
  if (!o.ridgeSearch || !split || !ffnGram(o, s) || !useActivations(o, ctx)) return o.ridge;
  return ffnRidge(plan, split, ffnKeepCount(plan.width, o.ffnRatio)).ridge;
}

/** The Gram matrix of the down input for the refit: of [X, 1] when a bias is fitted. */
function ffnGram(o: Options, s: InputStatistics | undefined): Float64Array | undefined {
  return o.bias ? refitGram(o, s) && s?.withConstant?.gram : refitGram(o, s);
}

/** The plan of every block that can be cut; a block that cannot is explained and left alone. */
/** Plans per block; a block that cannot be cut is explained, and a request no block can take is warned about. */
function plans<P>(blocks: readonly TransformerBlock[], plan: (b: TransformerBlock) => P | string, what: string, ctx: PassContext): P[] {
  const out: P[] = [];
  const reasons: string[] = [];
  for (const b of blocks) {
    const p = plan(b);
    if (typeof p === 'string') { ctx.explain(NAME, `block ${b.index}: ${what} left alone: ${p}`); reasons.push(p); }
    else out.push(p);
  }
  if (!out.length && reasons.length) ctx.warn(`${NAME}: ${what} left alone in every block: ${reasons[0]} (--explain gives each block's reason)`);
  return out;
}

function useActivations(o: Options, ctx: PassContext): boolean {
  return o.importance === 'activation' || (o.importance === 'auto' && !!ctx.calibration);
}

function refitGram(o: Options, s: InputStatistics | undefined): Float64Array | undefined {
  return o.reconstruct ? s?.gram : undefined;
}

async function statistics(model: Model, o: Options, ctx: PassContext, ffn: readonly FfnPlan[], heads: readonly HeadsPlan[]): Promise<Map<string, InputStatistics>> {
  const data = ctx.calibration;
  if (!data || (!useActivations(o, ctx) && !o.reconstruct)) return new Map();
  const values = [...ffn.map((p) => p.down.input.name), ...heads.map((p) => p.o.input.name)];
  const streams = o.allocation === 'global' ? ffn.flatMap((p) => streamAfterMlp(p) ?? []) : [];
  ctx.progress(`${NAME}: calibrating ${values.length} projection inputs`);
  return collectInputStatistics(model, data, values, { gram: o.reconstruct, rows: o.calibrationRows, momentsOf: streams });
}

/** The refit Gram matrix of a block's down input and the energy of the stream its MLP writes to. */
function evidence(plan: FfnPlan, stats: ReadonlyMap<string, InputStatistics>, o: Options, ctx: PassContext): BlockEvidence {
  const s = stats.get(plan.down.input.name);
  const stream = streamAfterMlp(plan);
  const streamStats = stream ? stats.get(stream) : undefined;
  return { gram: useActivations(o, ctx) ? ffnGram(o, s) : undefined, streamEnergy: streamStats && meanSquaredNorm(streamStats) };
}

function tally(counts: Record<string, number>, r: { targets: number; splits: number; refit: boolean }, key: string, kept: number): void {
  counts[key] = kept;
  counts.shapeTargets! += r.targets;
  counts.splits! += r.splits;
  if (r.refit) counts.refit!++;
}
