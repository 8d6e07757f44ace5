/**
 * Embedding tables: Gather(table[V, H], ids) along axis 0 with a constant float32 table that nothing else
 * reads. Each row is one token's vector, so rows are pruned by magnitude each to the same share (the total is
 * exact); there are no input activations to weigh them by and no product for N:M hardware to speed up.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { PassContext } from '../../../src/pipeline/pass.js';
import { DType } from '../../../src/ir/dtype.js';
import { isExcluded } from '../../quantize/quantize-weight-only.js';
import { countZeros, pruneCount } from '../../../src/math/sparsity.js';
import { markCount } from './method.js';

export function embeddingTables(model: Model, exclude: readonly string[], pass: string, ctx: PassContext): Node[] {
  return model.graph.nodesOfType('Gather').filter((node) => {
    const table = node.inputs[0];
    const t = table?.initializer;
    if (!table || !t || t.dtype !== DType.FLOAT || t.dims.length !== 2 || table.isGraphInput || node.getInt('axis', 0) !== 0) return false;
    if (isExcluded(node, exclude)) { ctx.explain(pass, `${node.describe()}: excluded`); return false; }
    if (table.uses.length > 1) { ctx.explain(pass, `${node.describe()}: its table is read by other nodes too`); return false; }
    return true;
  });
}

/** Prunes a table to `sparsity` by magnitude within each row; returns the weights newly set to zero. */
export function pruneTable(gather: Node, sparsity: number): number {
  const t = gather.input(0).initializer!;
  const values = Float64Array.from(t.toFloat32());
  const [rows, cols] = [t.dims[0]!, t.dims[1]!];
  const before = countZeros(values);
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) if (values[i] === 0) mask[i] = 1;
  const scores = values.map(Math.abs);
  markCount(scores, mask, cols, Math.max(before, pruneCount(rows * cols, sparsity)));
  let changed = 0;
  for (let i = 0; i < values.length; i++) if (mask[i] && values[i] !== 0) { values[i] = 0; changed++; }
  if (changed) t.setBytes(new Uint8Array(Float32Array.from(values).buffer));
  return changed;
}
