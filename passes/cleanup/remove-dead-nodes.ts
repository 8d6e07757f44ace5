/**
 * Nodes whose outputs reach no graph output -> removed (ONNX operators have no side effects).
 * Walks consumers-first so whole dead chains go in one run; subgraphs are cleaned too.
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import type { Graph } from '../../src/ir/graph.js';

function removeDead(graph: Graph): number {
  let removed = 0;
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (node.outputs.every((v) => !v || v.isUnused)) {
      graph.removeNode(node);
      removed++;
    }
  }
  for (const node of graph.nodes) for (const g of node.subgraphs()) removed += removeDead(g);
  return removed;
}

export default definePass({
  name: 'remove-dead-nodes',
  description: 'remove nodes whose results no graph output depends on',
  options: z.object({}).strict(),
  requires: ['topo-sorted'],
  run(model) {
    const removed = removeDead(model.graph);
    return { modified: removed > 0, stats: { removed } };
  },
});
