/**
 * How many FFN channels each block loses. `uniform`: the ratio in every block. `global`: the same total,
 * spent where it costs least: each block's greedy removal order (obs.ts) prices every channel by the error
 * it adds to the block's output after the refit, and that price is divided by the block's mean ‖stream‖²
 * (the residual stream the MLP adds to), since the next norm scales an error by the stream it lands in.
 * Every block keeps at least a `floor` fraction of its channels.
 */
import { allocateRemovals } from './allocation.js';
import { ffnKeepCount, ffnRemovalOrder, type FfnPlan } from './ffn.js';

export type Allocation = 'uniform' | 'global';

export interface BudgetOptions {
  readonly ratio: number;
  readonly allocation: Allocation;
  readonly floor: number;
  /** Ridge of the removal orders: one value for every block, so that their costs compare. */
  readonly ridge: number;
}

export interface FfnCut {
  readonly remove: number;
  /** Channels in the order they go, when the budget came from it (the first `remove` are cut). */
  readonly order?: readonly number[];
}

/** What the global budget needs of one block: the Gram matrix of the down input and the stream's scale. */
export interface BlockEvidence {
  readonly gram: Float64Array | undefined;
  readonly streamEnergy: number | undefined;
}

export interface Budget {
  readonly cuts: Map<FfnPlan, FfnCut>;
  /** Why a global allocation fell back to uniform. */
  readonly fallback?: string;
}

export function ffnBudget(plans: readonly FfnPlan[], o: BudgetOptions, evidence: (p: FfnPlan) => BlockEvidence): Budget {
  const uniform = new Map(plans.map((p) => [p, { remove: p.width - ffnKeepCount(p.width, o.ratio) }]));
  if (o.allocation === 'uniform' || plans.length < 2) return { cuts: uniform };
  const known = plans.map(evidence);
  if (known.some((e) => !e.gram)) return { cuts: uniform, fallback: 'no calibration statistics for the refit' };
  if (known.some((e) => !e.streamEnergy)) return { cuts: uniform, fallback: 'the residual stream of an MLP was not found' };
  const limits = plans.map((p) => Math.max(p.width - Math.max(1, Math.ceil(o.floor * p.width)), uniform.get(p)!.remove));
  const orders = plans.map((p, i) => ffnRemovalOrder(p, known[i]!.gram!, o.ridge, limits[i]!));
  const total = plans.reduce((sum, p) => sum + uniform.get(p)!.remove, 0);
  const removed = allocateRemovals(orders.map((r, i) => ({ costs: r.costs, scale: known[i]!.streamEnergy!, limit: limits[i]! })), total);
  return { cuts: new Map(plans.map((p, i) => [p, { remove: removed[i]!, order: orders[i]!.units }])) };
}

/** The channels a cut keeps, ascending, when it carries its order. */
export function keptByOrder(width: number, cut: FfnCut): number[] | undefined {
  if (!cut.order) return undefined;
  const gone = new Set(cut.order.slice(0, cut.remove));
  return Array.from({ length: width }, (_, i) => i).filter((i) => !gone.has(i));
}
