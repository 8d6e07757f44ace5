/**
 * Whole blocks: readers of the block's output read its input instead, then the block's nodes (and the
 * shape computations only they used) are removed.
 *   pre-norm:   h ─┬─ norm ─ attn ─ Add ─┬─ norm ─ mlp ─ Add ─ h'      ->   h ─ h'
 *   post-norm:  h ─┬─ attn ─ Add ─ LN ─┬─ mlp ─ Add ─ LN ─ h'          ->   h ─ h'
 */
import type { TransformerBlock } from '../../../src/analysis/transformer.js';
import type { Graph } from '../../../src/ir/graph.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';

/** The stream value entering and leaving a block, or the reason the block cannot be bypassed. */
export function blockEnds(block: TransformerBlock): { input: Value; output: Value } | string {
  const first = block.sublayers[0];
  const last = block.sublayers.at(-1);
  if (!first?.join || !last?.join) return 'no residual stream';
  if (first.join.node.opType !== 'Add' || last.join.node.opType !== 'Add') return 'the residual joins are fused norms';
  const output = last.placement === 'post' ? last.norm?.output : last.join.output;
  // Post-norm: the stream entering the block is the previous block's norm output, which the first join adds.
  if (!output) return 'the block output is not found';
  if (output.isGraphOutput) return 'the block output is a graph output';
  return { input: first.join.stream, output };
}

/** Bypasses the block; returns the number of nodes removed. */
export function bypassBlock(graph: Graph, ends: { input: Value; output: Value }): number {
  const start = ends.output.producer;
  ends.output.replaceAllUsesWith(ends.input);
  return start ? removeDead(graph, [start]) : 0;
}

/** Removes nodes whose outputs nobody reads, starting at `seeds` and following their inputs. */
export function removeDead(graph: Graph, seeds: readonly Node[]): number {
  let removed = 0;
  const stack = [...seeds];
  const initializers = new Set<Value>();
  while (stack.length) {
    const node = stack.pop()!;
    if (!graph.nodes.includes(node) || node.outputs.some((o) => o && !o.isUnused)) continue;
    const inputs = node.inputs.filter((v): v is Value => !!v);
    graph.removeNode(node);
    removed++;
    for (const v of inputs) {
      if (v.producer) stack.push(v.producer);
      else if (v.initializer) initializers.add(v);
    }
  }
  for (const v of initializers) if (v.isUnused && !v.isGraphInput && graph.initializers.includes(v)) graph.removeInitializer(v);
  return removed;
}
