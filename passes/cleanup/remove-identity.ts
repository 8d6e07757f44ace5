/**
 * y = Identity(x) -> readers of y read x.
 * Kept when it is the only link between a graph input and a graph output (the interface needs both names).
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';

export default definePass({
  name: 'remove-identity',
  description: 'drop Identity nodes and point their readers at the Identity input',
  options: z.object({}).strict(),
  run(model) {
    let removed = 0;
    for (const graph of [...model.graph.graphsDeep()]) {
      for (const node of graph.nodesOfType('Identity')) {
        const x = node.inputs[0];
        const y = node.outputs[0];
        if (!x || !y) continue;
        if (y.isGraphOutput && (x.isGraphInput || x.isGraphOutput || x.graph !== graph)) continue;
        y.replaceAllUsesWith(x);
        graph.removeNode(node);
        removed++;
      }
    }
    return { modified: removed > 0, stats: { removed } };
  },
});

