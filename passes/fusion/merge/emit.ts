/**
 * Projections of one activation -> MatMul(x, [W1 | W2 | ...]) [+ Add([b1 | b2 | ...])] -> Split on the last
 * axis, whose outputs take the place of the projections' outputs (graph outputs keep their names).
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Node } from '../../../src/ir/node.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { int64, nodeName, removeOrphans } from '../../../src/pattern/rewrite.js';
import { concatBiases, concatWeights } from './weights.js';
import type { Projection } from './members.js';

const RULE = 'merge-projections';

/** The Split axis: -1 from opset 11, before that the last axis counted from the front (x·W has x's rank). */
export function splitAxis(opset: number, xRank: number | undefined): number | undefined {
  return opset >= 11 ? -1 : xRank === undefined ? undefined : Math.max(xRank, 1) - 1;
}

/** Rewrites the group (in graph order) and removes what it replaced; returns the nodes removed. */
export function emitMerged(graph: Graph, group: readonly Projection[], axis: number): number {
  const first = group[0]!;
  const dtype = first.weight.tensor.dtype;
  const k = first.weight.k;
  const widths = group.map((p) => p.weight.n);
  const total = widths.reduce((s, n) => s + n, 0);
  const before: Node = first.node;
  const name = (hint: string) => nodeName(graph, first.node, `${RULE}_${hint}`);

  const weight = graph.addConstant('merged_weight', Tensor.fromBytes('merged_weight', dtype, [k, total], concatWeights(group.map((p) => p.weight))));
  let y = graph.addNode({ opType: 'MatMul', inputs: [first.x, weight], before, name: name('matmul') }).output(0);
  if (group.some((p) => p.bias)) {
    const parts = group.map((p) => ({ n: p.weight.n, ...(p.bias ? { bias: p.bias } : {}) }));
    const bias = graph.addConstant('merged_bias', Tensor.fromBytes('merged_bias', dtype, [total], concatBiases(dtype, parts)));
    y = graph.addNode({ opType: 'Add', inputs: [y, bias], before, name: name('bias') }).output(0);
  }
  const opset = graph.model.opsetVersion('') ?? 1;
  const split = graph.addNode({
    opType: 'Split',
    inputs: opset >= 13 ? [y, int64(graph, 'merged_split', widths)] : [y],
    outputs: group.length,
    before,
    name: name('split'),
    attributes: {
      axis: { type: 'int', value: axis },
      ...(opset < 13 ? { split: { type: 'ints' as const, value: widths } } : {}),
    },
  });
  group.forEach((p, i) => p.output.replaceAllUsesWith(split.output(i)));
  return removeOrphans(graph, [...group.map((p) => p.node), ...group.flatMap((p) => (p.biasAdd ? [p.biasAdd] : []))]);
}
