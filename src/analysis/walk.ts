/**
 * Walking a graph for analysis: node order, which inputs carry data, bounded backward searches and the
 * set of nodes between two values. All read-only; nothing here is cached across edits of the graph.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { isConstant } from './constants.js';

/** Every node the values depend on: their producers and everything upstream of them. */
export function upstreamNodes(values: Iterable<Value>): Set<Node> {
  const seen = new Set<Node>();
  const stack: Node[] = [];
  for (const v of values) if (v.producer) stack.push(v.producer);
  while (stack.length) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const input of node.inputs) if (input?.producer && !seen.has(input.producer)) stack.push(input.producer);
  }
  return seen;
}

/** Position of each node in its graph (ONNX graphs list nodes in topological order). */
export class NodeOrder {
  private readonly at = new Map<Node, number>();
  constructor(readonly graph: Graph) {
    graph.nodes.forEach((n, i) => this.at.set(n, i));
  }
  of(node: Node): number { return this.at.get(node) ?? -1; }
  /** Position of a value's producer; -1 for graph inputs, initializers and outer-scope values. */
  ofValue(value: Value): number { return value.producer ? this.of(value.producer) : -1; }
}

/** Only the first input carries data; the others are shapes, indices, axes or quantization parameters. */
const FIRST_INPUT_ONLY = new Set([
  'Reshape', 'Expand', 'Slice', 'Unsqueeze', 'Squeeze', 'Tile', 'Pad', 'Gather', 'GatherElements', 'Split',
  'DequantizeLinear', 'QuantizeLinear', 'Flatten', 'Transpose', 'Cast', 'CastLike', 'Identity', 'Dropout',
  'RotaryEmbedding', 'Resize', 'ReduceMean', 'ReduceSum', 'ReduceMax', 'Softmax', 'CumSum', 'Trilu', 'Triu',
]);
/** Nodes through which no tensor data flows (their output depends on shapes only, or on nothing). */
const NO_DATA = new Set(['Shape', 'Size', 'ConstantOfShape', 'Range', 'EyeLike', 'Constant']);

/** Inputs of a node that carry activations: constants, shapes and indices left out. */
export function dataInputs(node: Node): Value[] {
  if (NO_DATA.has(node.opType)) return [];
  let inputs: readonly (Value | null)[] = node.inputs;
  if (node.opType === 'Where') inputs = inputs.slice(1);
  else if (FIRST_INPUT_ONLY.has(node.opType)) inputs = inputs.slice(0, 1);
  return inputs.filter((v): v is Value => v !== null && !isConstant(v));
}

/** Distinct consumer nodes of a value. */
export function readers(value: Value): Node[] {
  return [...new Set(value.consumers())];
}

export interface WalkOptions {
  /** Walk only through these nodes (others are neither visited nor crossed). */
  readonly within?: ReadonlySet<Node>;
  /** Nodes where the walk stops: they are reported and not crossed. */
  readonly stop: (node: Node) => boolean;
  /** At most this many nodes visited. */
  readonly limit?: number;
}

export interface WalkResult {
  /** Crossed nodes, nearest first. */
  readonly nodes: Node[];
  /** Stop nodes reached. */
  readonly stops: Node[];
}

/** Breadth-first walk from a value towards the graph inputs, along data inputs only. */
export function walkBack(start: Value, options: WalkOptions): WalkResult {
  const nodes: Node[] = [];
  const stops: Node[] = [];
  const seen = new Set<Node>();
  const queue: Value[] = [start];
  const limit = options.limit ?? 256;
  while (queue.length && seen.size < limit) {
    const p = queue.shift()!.producer;
    if (!p || seen.has(p) || (options.within && !options.within.has(p))) continue;
    seen.add(p);
    if (options.stop(p)) { stops.push(p); continue; }
    nodes.push(p);
    queue.push(...dataInputs(p));
  }
  return { nodes, stops };
}

/**
 * The nodes on data paths from `from` to `to`: ancestors of `to` that descend from `from`, along data inputs
 * only (a shape or an index is not data). Undefined when `to` does not depend on `from`.
 */
export function nodesBetween(from: Value, to: Value, order: NodeOrder): Set<Node> | undefined {
  const floor = order.ofValue(from);
  const ancestors: Node[] = [];
  const seen = new Set<Node>();
  const stack: Value[] = [to];
  while (stack.length) {
    const p = stack.pop()!.producer;
    if (!p || seen.has(p) || order.of(p) <= floor) continue;
    seen.add(p);
    ancestors.push(p);
    for (const v of dataInputs(p)) if (v !== from) stack.push(v);
  }
  ancestors.sort((a, b) => order.of(a) - order.of(b));
  const reached = new Set<Value>([from]);
  const between = new Set<Node>();
  for (const n of ancestors) {
    if (!dataInputs(n).some((v) => reached.has(v))) continue;
    between.add(n);
    for (const o of n.outputs) if (o) reached.add(o);
  }
  return reached.has(to) ? between : undefined;
}
