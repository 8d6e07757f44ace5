/**
 * Embedding tables: Gather(E[V, H] float, ids) on a constant table, quantized to symmetric int8 (no integer
 * product follows, so the full -127..127 range is exact on every CPU). One scale per table or per row:
 *   qoperator, per tensor:  DequantizeLinear(Gather(Eq, ids), scale)
 *   qoperator, per row:     Cast(Gather(Eq, ids)) * Gather(scales[V, 1], ids)
 *   qdq:                    Gather(DequantizeLinear(Eq, scales[, axis=0]), ids)
 * The first two dequantize only the gathered rows; the QDQ form is the pattern QDQ-aware providers read.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import type { Int8Matrix } from '../../../src/math/int8.js';

export interface EmbeddingGather {
  readonly node: Node;
  readonly table: Value;
  readonly rows: number;
  readonly cols: number;
}

/** Gathers along axis 0 of a constant float32 [V, H] table; a reason for each Gather on a constant that is not one. */
export function findEmbeddingGathers(model: Model): { gathers: EmbeddingGather[]; rejected: { node: Node; reason: string }[] } {
  const gathers: EmbeddingGather[] = [];
  const rejected: { node: Node; reason: string }[] = [];
  for (const node of model.graph.nodesOfType('Gather')) {
    const table = node.inputs[0];
    const t = table?.initializer;
    if (!table || !t) continue;
    const axis = node.getInt('axis', 0)!;
    if (t.dtype !== DType.FLOAT) rejected.push({ node, reason: 'the table is not float32' });
    else if (t.dims.length !== 2) rejected.push({ node, reason: `the table has rank ${t.dims.length}, not 2` });
    else if (axis !== 0 && axis !== -2) rejected.push({ node, reason: `gathers along axis ${axis}, not the rows` });
    else if (t.dims[1] === 1) rejected.push({ node, reason: 'one value per row (a column of scales): nothing to gain' });
    else if (table.isGraphInput) rejected.push({ node, reason: 'the table is also a graph input (overridable)' });
    else gathers.push({ node, table, rows: t.dims[0]!, cols: t.dims[1]! });
  }
  return { gathers, rejected };
}

/** Quantized table initializers, shared by every Gather of one table. */
export interface TableConstants {
  readonly codes: Value;
  /** [] per tensor; [V] per row (QDQ) or [V, 1] per row (gathered next to the rows). */
  readonly scale: Value;
  readonly perRow: boolean;
}

export function addTableConstants(model: Model, base: string, q: Int8Matrix, format: 'qoperator' | 'qdq'): TableConstants {
  const g = model.graph;
  const perRow = q.granularity === 'row';
  const scaleDims = !perRow ? [] : format === 'qdq' ? [q.rows] : [q.rows, 1];
  const codes = g.addConstant(`${base}_quantized`, Tensor.fromTyped(`${base}_quantized`, DType.INT8, [q.rows, q.cols], q.codes));
  const scale = g.addConstant(`${base}_scale`, Tensor.fromTyped(`${base}_scale`, DType.FLOAT, scaleDims, q.scales));
  return { codes, scale, perRow };
}

export function emitQuantizedGather(model: Model, gather: EmbeddingGather, c: TableConstants, format: 'qoperator' | 'qdq'): void {
  const g = model.graph;
  const { node, table } = gather;
  const at = (op: string) => model.freshNodeName(`${node.name || table.name}_${op}`);
  if (format === 'qdq') {
    const dq = g.addNode({
      opType: 'DequantizeLinear', name: at('DequantizeLinear'), inputs: [c.codes, c.scale], before: node,
      attributes: c.perRow ? { axis: { type: 'int', value: 0 } } : {},
    });
    node.setInput(0, dq.output(0));
  } else {
    const ids = node.input(1);
    const axis = { axis: { type: 'int' as const, value: 0 } };
    const rows = g.addNode({ opType: 'Gather', name: at('Gather'), inputs: [c.codes, ids], before: node, attributes: axis }).output(0);
    let out: Value;
    if (c.perRow) {
      const asFloat = g.addNode({ opType: 'Cast', name: at('Cast'), inputs: [rows], before: node, attributes: { to: { type: 'int', value: DType.FLOAT } } }).output(0);
      const scales = g.addNode({ opType: 'Gather', name: at('GatherScale'), inputs: [c.scale, ids], before: node, attributes: axis }).output(0);
      out = g.addNode({ opType: 'Mul', name: at('Mul'), inputs: [asFloat, scales], before: node }).output(0);
    } else {
      out = g.addNode({ opType: 'DequantizeLinear', name: at('DequantizeLinear'), inputs: [rows, c.scale], before: node }).output(0);
    }
    const old = node.output(0);
    const name = old.name;
    old.replaceAllUsesWith(out);
    g.removeNode(node);
    if (!g.lookup(name)) out.rename(name);
  }
  if (table.isUnused) g.removeInitializer(table);
}
