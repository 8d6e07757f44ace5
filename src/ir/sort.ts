/** Topological order: producers before consumers (outer-scope reads of subgraph nodes count too). */
import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Value } from './value.js';
import { InvariantError } from '../errors.js';

/** Values a node reads, including those its subgraphs read from enclosing scopes. */
export function nodeReads(node: Node): Value[] {
  const out: Value[] = [];
  for (const v of node.inputs) if (v) out.push(v);
  for (const g of node.subgraphs()) {
    for (const n of g.allNodes()) for (const v of n.inputs) if (v && !isInside(v.graph, g)) out.push(v);
    for (const v of g.outputs) if (!isInside(v.graph, g)) out.push(v);
  }
  return out;
}

function isInside(graph: Graph, ancestor: Graph): boolean {
  for (let g: Graph | undefined = graph; g; g = g.parent) if (g === ancestor) return true;
  return false;
}

/**
 * Stable topological sort (Kahn's algorithm keeping the current order where it is already valid).
 * Returns true when the order changed. Throws on a cycle.
 */
export function sortTopologically(graph: Graph): boolean {
  const index = new Map(graph.nodes.map((n, i) => [n, i]));
  const pending = new Map<Node, number>();
  const dependents = new Map<Node, Node[]>();
  for (const node of graph.nodes) {
    const producers = new Set<Node>();
    for (const v of nodeReads(node)) {
      const p = v.producer && ownerInGraph(v.producer, graph);
      if (p && p !== node) producers.add(p);
    }
    pending.set(node, producers.size);
    for (const p of producers) (dependents.get(p) ?? dependents.set(p, []).get(p)!).push(node);
  }
  const ready = graph.nodes.filter((n) => pending.get(n) === 0);
  const order: Node[] = [];
  // A min-heap on original position would be O(n log n); the ready list is kept sorted by insertion.
  while (ready.length) {
    ready.sort((a, b) => index.get(a)! - index.get(b)!);
    const n = ready.shift()!;
    order.push(n);
    for (const d of dependents.get(n) ?? []) {
      const left = pending.get(d)! - 1;
      pending.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (order.length !== graph.nodes.length) {
    const stuck = graph.nodes.find((n) => (pending.get(n) ?? 0) > 0)!;
    throw new InvariantError(`graph '${graph.name}' has a cycle through ${stuck.describe()}`);
  }
  const changed = order.some((n, i) => n !== graph.nodes[i]);
  if (changed) graph.nodes.splice(0, graph.nodes.length, ...order);
  return changed;
}

/** The node of `graph` that contains `node` (itself, or the node holding the subgraph it sits in). */
function ownerInGraph(node: Node, graph: Graph): Node | undefined {
  let n: Node | undefined = node;
  while (n && n.graph !== graph) {
    const g: Graph = n.graph;
    n = g.parent ? [...g.parent.nodes].find((p) => p.subgraphs().includes(g)) : undefined;
  }
  return n;
}
