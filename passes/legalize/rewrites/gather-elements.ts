/**
 * GatherElements, for targets that restrict it, -> GatherND with every coordinate written out:
 *
 *   y = GatherElements(data, idx, axis a)        y[i0..ir] = data[i0.., idx[i0..ir] (at a), ..ir]
 *   ->  c_k = k == a ? idx : Expand(Reshape(Range(0, dim_k(idx)), [1.. -1 (at k) ..1]), Shape(idx))
 *       y = GatherND(data, Concat(Unsqueeze(c_0, -1), .., Unsqueeze(c_r-1, -1), axis -1))
 *
 * Exact (same elements). Negative indices stay valid: GatherND takes [-s, s-1] like GatherElements, and
 * every op used exists at opset 11, where GatherElements starts.
 * Seen in BERT exports (transformers 5), where token type ids are gathered from a registered buffer.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { FactTable } from '../../../src/pattern/facts.js';
import { Emitter, int, replaceNode } from './emit.js';
import { cast, dimScalar, rankOf, unsqueeze } from './ops.js';
import type { Rewrite, RewriteContext } from './context.js';

function coordinates(e: Emitter, indices: Value, rank: number, axis: number): Value {
  const shape = e.op('Shape', [indices]);
  const columns: Value[] = [];
  for (let k = 0; k < rank; k++) {
    let c: Value;
    if (k === axis) c = indices;
    else {
      const range = e.op('Range', [e.i64('zero', [0], []), dimScalar(e, indices, k), e.i64('one', [1], [])]);
      const along = Array.from({ length: rank }, (_, j) => (j === k ? -1 : 1));
      c = e.op('Expand', [e.op('Reshape', [range, e.i64('along', along)]), shape]);
    }
    columns.push(unsqueeze(e, c, [-1]));
  }
  return e.op('Concat', columns, { axis: int(-1) });
}

function rewrite(ctx: RewriteContext, node: Node, facts: FactTable): boolean {
  const [data, indices] = [node.input(0), node.input(1)];
  const rank = facts.rank(indices) ?? rankOf(indices) ?? facts.rank(data) ?? rankOf(data);
  if (rank === undefined) { ctx.explain(node, 'rank unknown: GatherElements kept'); return false; }
  const axis = ((node.getInt('axis', 0) % rank) + rank) % rank;
  const e = new Emitter(node);
  const idx = (facts.dtype(indices) ?? ctx.types.get(indices)) === DType.INT64 ? indices : cast(e, indices, DType.INT64);
  replaceNode(node, [e.op('GatherND', [data, coordinates(e, idx, rank, axis)])]);
  return true;
}

export const gatherElementsRewrite: Rewrite = {
  name: 'gather-elements',
  applies: (ctx) => ctx.profile.restrictedOps.GatherElements !== undefined,
  run(ctx) {
    const nodes = ctx.nodes('GatherElements');
    if (!nodes.length) return;
    const facts = new FactTable(ctx.model.graph);
    for (const node of nodes) if (rewrite(ctx, node, facts)) ctx.count('gatherElements');
  },
};
