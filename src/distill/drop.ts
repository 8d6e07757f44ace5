/**
 * Removing whole blocks: the removed block's output stream is replaced by its input, then everything no
 * output depends on any more goes (the block's nodes and weights). Nothing else is touched, so masks,
 * rotary tables and shape subgraphs shared by the blocks keep working for the blocks that stay.
 *   … ─ h_in ─[block]─ h_out ─ next   ->   … ─ h_in ─ next
 */
import type { Model } from '../ir/model.js';
import { quietContext } from '../pipeline/pass.js';
import { verifyModel } from '../ir/verify.js';
import removeDeadNodes from '../../passes/cleanup/remove-dead-nodes.js';
import removeUnusedInitializers from '../../passes/cleanup/remove-unused-initializers.js';
import type { BlockBoundary } from './boundaries.js';
import { InvariantError } from '../errors.js';

export interface DropResult {
  readonly removedBlocks: readonly number[];
  readonly nodesRemoved: number;
  readonly initializersRemoved: number;
}

/** Keeps the blocks listed in `keep` (teacher indices) and removes the others, in place. */
export async function dropBlocks(model: Model, blocks: readonly BlockBoundary[], keep: readonly number[]): Promise<DropResult> {
  const kept = new Set(keep);
  const removed = blocks.filter((b) => !kept.has(b.index));
  // Last block first: a block's input may be the previous block's output, rewired in turn afterwards.
  for (const b of [...removed].reverse()) {
    const output = model.graph.lookup(b.output);
    const input = model.graph.lookup(b.input);
    if (!output || !input) throw new InvariantError(`block ${b.index}: its stream values are gone from the graph`);
    output.replaceAllUsesWith(input);
  }
  const ctx = quietContext();
  const nodes = await removeDeadNodes.run(model, {}, ctx);
  const inits = await removeUnusedInitializers.run(model, {}, ctx);
  verifyModel(model, 'block removal');
  return {
    removedBlocks: removed.map((b) => b.index),
    nodesRemoved: nodes.stats.removed ?? 0,
    initializersRemoved: inits.stats.removed ?? 0,
  };
}
