/**
 * Initializers with the same dtype, shape and bytes -> one (readers of the copies read the first).
 * Exporters duplicate shape constants and tied weights; graph inputs and outputs are left alone.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import type { Value } from '../../src/ir/value.js';

export default definePass({
  name: 'dedupe-initializers',
  description: 'merge initializers that hold identical tensors',
  options: z.object({
    maxBytes: z.number().int().positive().default(64 << 20).describe('skip tensors larger than this (bytes)'),
  }).strict(),
  run(model, options) {
    let merged = 0;
    let bytes = 0;
    for (const graph of [...model.graph.graphsDeep()]) {
      const firstByKey = new Map<string, Value>();
      for (const v of [...graph.initializers]) {
        const t = v.initializer!;
        if (!t.hasBytes || t.byteLength > options.maxBytes || v.isGraphInput || v.isGraphOutput) continue;
        const key = `${t.dtype}:${t.dims.join('x')}:${createHash('sha256').update(t.bytes()).digest('hex')}`;
        const first = firstByKey.get(key);
        if (!first) { firstByKey.set(key, v); continue; }
        v.replaceAllUsesWith(first);
        bytes += t.byteLength;
        graph.removeInitializer(v);
        merged++;
      }
    }
    return { modified: merged > 0, stats: { merged, bytesFreed: bytes } };
  },
});
