/**
 * The residual stream: the chain of additions h' = h + f(h) where f holds a layer (the caller's `accept`
 * says which branches qualify). Each such addition closes a sublayer whose nodes are the data paths from h
 * to f(h). The addition may be an Add with the operands in either order, or a Skip*Normalization op.
 *   h ──┬──────────────────────┐
 *       └─ norm ─ attn/mlp ─ … ─ Add ─ h'
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { isConstant } from './constants.js';
import { nodesBetween, type NodeOrder } from './walk.js';

export interface ResidualJoin {
  /** The Add (or Skip*Normalization) that adds the branch back. */
  readonly node: Node;
  /** The stream value entering the sublayer (the skip connection). */
  readonly stream: Value;
  /** The branch result added to it. */
  readonly branchOutput: Value;
  /** The stream value leaving (undefined for a Skip*Normalization that does not return its sum). */
  readonly output: Value | undefined;
  /** Nodes on data paths from `stream` to `branchOutput`. */
  readonly branch: ReadonlySet<Node>;
}

const SKIP_NORMS = new Set(['SkipLayerNormalization', 'SkipSimplifiedLayerNormalization']);

/**
 * The joins along the residual stream, in graph order; additions nested inside a sublayer are left out,
 * as are those in `exclude` (the mask additions of attention cores: a mask feeds every later layer).
 */
export function findResidualJoins(graph: Graph, order: NodeOrder, accept: (branch: ReadonlySet<Node>) => boolean, exclude: ReadonlySet<Node>): ResidualJoin[] {
  const candidates: ResidualJoin[] = [];
  for (const node of graph.nodes) {
    const join = exclude.has(node) ? undefined : asJoin(node, order, accept);
    if (join) candidates.push(join);
  }
  return candidates.filter((j) => !candidates.some((o) => o !== j && o.branch.has(j.node)));
}

function asJoin(node: Node, order: NodeOrder, accept: (branch: ReadonlySet<Node>) => boolean): ResidualJoin | undefined {
  const skipNorm = SKIP_NORMS.has(node.opType) && node.domain === 'com.microsoft';
  if (!skipNorm && (node.opType !== 'Add' || node.domain !== '')) return undefined;
  const [a, b] = node.inputs;
  if (!a || !b || a === b || isConstant(a) || isConstant(b)) return undefined;
  const [stream, branchOutput] = order.ofValue(a) <= order.ofValue(b) ? [a, b] : [b, a];
  // After a Skip*Normalization the branch reads the normalized output, a sibling of the sum.
  const p = stream.producer;
  const normalized = p && SKIP_NORMS.has(p.opType) && p.outputs[0] !== stream ? p.outputs[0] : undefined;
  const branch = nodesBetween(stream, branchOutput, order) ?? (normalized ? nodesBetween(normalized, branchOutput, order) : undefined);
  if (!branch || !accept(branch)) return undefined;
  const output = skipNorm ? node.outputs[3] ?? undefined : node.outputs[0] ?? undefined;
  return { node, stream, branchOutput, output, branch };
}
