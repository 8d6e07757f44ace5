/**
 * Non-uniform FFN cuts: one budget of channels to remove, shared by every block. Each block offers its
 * greedy removal order (obs.ts) with the cost of every step, divided by the block's scale so that costs of
 * different blocks compare; the cheapest next step of any block goes first, until the budget is spent or
 * every block reached its limit. A block's costs are made non-decreasing (running maximum), so one cheap
 * step behind an expensive one does not pull the block ahead of its turn.
 */

export interface BlockCosts {
  /** Cost of each removal step, in order. */
  readonly costs: readonly number[];
  /** What one unit of cost weighs in this block (its costs are divided by it). */
  readonly scale: number;
  /** Most units this block may lose. */
  readonly limit: number;
}

/** Units removed per block, summing to `total` or to every block's limit when that is less. */
export function allocateRemovals(blocks: readonly BlockCosts[], total: number): number[] {
  const steps = blocks.map((b) => monotone(b.costs).map((c) => c / (b.scale > 0 ? b.scale : 1)));
  const limits = blocks.map((b, i) => Math.min(b.limit, steps[i]!.length));
  const taken = blocks.map(() => 0);
  for (let spent = 0; spent < total; spent++) {
    let best = -1;
    for (let i = 0; i < blocks.length; i++) {
      if (taken[i]! >= limits[i]!) continue;
      if (best < 0 || steps[i]![taken[i]!]! < steps[best]![taken[best]!]!) best = i;
    }
    if (best < 0) break;
    taken[best]!++;
  }
  return taken;
}

function monotone(costs: readonly number[]): number[] {
  let high = 0;
  return costs.map((c) => (high = Math.max(high, Number.isFinite(c) ? c : Infinity)));
}
