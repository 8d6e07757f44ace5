/** Initializers nothing reads -> removed (kept when they are also declared graph inputs). */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';

export default definePass({
  name: 'remove-unused-initializers',
  description: 'drop initializers that no node, subgraph or graph output reads',
  options: z.object({}).strict(),
  run(model) {
    let removed = 0;
    let bytes = 0;
    for (const graph of [...model.graph.graphsDeep()]) {
      for (const v of [...graph.initializers]) {
        if (!v.isUnused || v.isGraphInput) continue;
        bytes += v.initializer?.byteLength ?? 0;
        graph.removeInitializer(v);
        removed++;
      }
    }
    return { modified: removed > 0, stats: { removed, bytesFreed: bytes } };
  },
});
