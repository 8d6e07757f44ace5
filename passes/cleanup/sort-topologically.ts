/** Nodes reordered so every producer precedes its consumers (stable: a valid order is kept as is). */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import { sortTopologically } from '../../src/ir/sort.js';

export default definePass({
  name: 'sort-topologically',
  description: 'order nodes so that producers come before consumers',
  options: z.object({}).strict(),
  run(model) {
    let moved = 0;
    for (const graph of [...model.graph.graphsDeep()]) if (sortTopologically(graph)) moved++;
    return { modified: moved > 0, stats: { graphsReordered: moved } };
  },
});
