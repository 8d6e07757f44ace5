/**
 * Shape arithmetic that reads the shapes of activations -> the same numbers read from the graph inputs:
 *
 *   Concat(Unsqueeze(Gather(Shape(h), 0)), Unsqueeze(Gather(Shape(h), 1)), [-1], [32])
 *     -> Concat(Gather(Shape(input_ids), [0, 1]), [-1, 32])
 *
 * Only values that leave the shape arithmetic (a Reshape target, an Expand shape, a Range limit) are rebuilt;
 * what fed them becomes dead. Afterwards no Shape node reads an activation inside an attention block.
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import type { FactTable } from '../../../src/pattern/facts.js';
import { DimBuilder } from '../../../src/pattern/dims.js';
import { removeOrphans } from '../../../src/pattern/rewrite.js';

const INT_TYPES = new Set<number>([DType.INT64, DType.INT32]);

/** Rebuilds every non-canonical boundary value of the shape arithmetic; returns [rebuilt, nodes removed]. */
export function rebuildDims(graph: Graph, facts: FactTable): [number, number] {
  const dims = new DimBuilder(graph);
  const replaced: Node[] = [];
  for (const node of [...graph.nodes]) {
    if (node.domain !== '' || !graph.nodes.includes(node)) continue;
    for (const v of node.outputs) {
      if (!v || v.isGraphOutput || !isTrackedInt(facts, v) || !leavesArithmetic(facts, v) || isCanonical(v, 4)) continue;
      const value = facts.get(v).value!;
      if (!dims.canBuild(value) || value.every((e) => e.isConst)) continue;
      const rank = facts.rank(v);
      const built = rank === 0 ? dims.scalar(value[0]!, v.name) : rank === 1 ? dims.vector(value, v.name) : undefined;
      if (!built) continue;
      v.replaceAllUsesWith(dims.cast(built, facts.dtype(v)!, v.name));
      replaced.push(node);
    }
  }
  return [replaced.length, removeOrphans(graph, replaced)];
}

function isTrackedInt(facts: FactTable, v: Value): boolean {
  const f = facts.get(v);
  return f.dtype !== undefined && INT_TYPES.has(f.dtype) && !!f.value && f.value.every((d) => d !== undefined) && (f.shape?.length ?? 2) <= 1;
}

/** Read by something that is not itself small integer arithmetic. */
function leavesArithmetic(facts: FactTable, v: Value): boolean {
  return v.uses.some(({ node }) => node.outputs.some((o) => o && !isTrackedInt(facts, o)));
}

/** Already in the form this rewrite (or an emitted helper) produces: Gather(Shape(graph input)), constants, Concat/Mul/Add/Sub/Cast of those. */
function isCanonical(v: Value, depth: number): boolean {
  if (v.initializer) return true;
  const p = v.producer;
  if (!p || depth === 0 || p.domain !== '') return false;
  const ins = p.inputs.filter((x): x is Value => !!x);
  switch (p.opType) {
    case 'Gather': {
      const shape = ins[0]?.producer;
      return !!shape && shape.opType === 'Shape' && !!shape.inputs[0]?.isGraphInput && !!ins[1]?.initializer;
    }
    case 'Shape':
      return !!ins[0]?.isGraphInput && p.attributes.size === 0;
    case 'Unsqueeze':   // only around a polynomial element, as the builder writes it
      return ['Mul', 'Add'].includes(ins[0]?.producer?.opType ?? '') && isCanonical(ins[0]!, depth - 1);
    case 'Concat': case 'Mul': case 'Add': case 'Sub': case 'Cast':
      return ins.every((x) => isCanonical(x, depth - 1));
    default:
      return false;
  }
}
