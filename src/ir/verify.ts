/**
 * Checks the IR invariants a pass must keep: every use recorded on both sides, producers before consumers,
 * inputs defined in scope, unique value names per scope, opset imported for every domain used.
 */
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import { nodeReads } from './sort.js';
import type { Node } from './node.js';
import { InvariantError } from '../errors.js';

export function verifyModel(model: Model, context = ''): void {
  const where = context ? ` after ${context}` : '';
  const problems: string[] = [];
  verifyGraph(model.graph, problems);
  for (const f of model.functions) verifyGraph(f.body, problems);
  const domains = new Set(model.opsetImports.map((o) => (o.domain === 'ai.onnx' ? '' : o.domain)));
  const localFunctions = new Set(model.functions.map((f) => `${f.domain}:${f.name}`));
  for (const n of model.graph.allNodes()) {
    const d = n.domain === 'ai.onnx' ? '' : n.domain;
    if (!domains.has(d) && !localFunctions.has(`${n.domain}:${n.opType}`)) problems.push(`${n.describe()}: domain '${d || 'ai.onnx'}' is not imported`);
  }
  if (problems.length) throw new InvariantError(`invalid graph${where}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
}

function verifyGraph(graph: Graph, problems: string[]): void {
  const seen = new Set<Node>();
  const alive = new Set(graph.nodes);
  const defined = new Set<string>([...graph.inputs, ...graph.initializers].map((v) => v.name));
  for (const v of graph.ownValues()) if (v.sparseInitializer !== undefined) defined.add(v.name);
  for (const node of graph.nodes) {
    if (node.graph !== graph) problems.push(`${node.describe()} believes it is in another graph`);
    node.inputs.forEach((v, i) => {
      if (!v) return;
      if (graph.lookup(v.name) !== v) problems.push(`${node.describe()} input ${i} '${v.name}' is not visible in this scope`);
      if (!v.uses.some((u) => u.node === node && u.index === i)) problems.push(`'${v.name}' does not record its use by ${node.describe()}`);
    });
    for (const v of nodeReads(node)) {
      if (v.producer && v.graph === graph && !seen.has(v.producer)) problems.push(`${node.describe()} reads '${v.name}' before it is produced`);
      if (v.graph === graph && !v.producer && !defined.has(v.name)) problems.push(`${node.describe()} reads '${v.name}', which nothing defines`);
    }
    node.outputs.forEach((v, i) => {
      if (!v) return;
      if (v.producer !== node || v.producerIndex !== i) problems.push(`'${v.name}' does not name ${node.describe()} as its producer`);
      if (graph.lookup(v.name) !== v) problems.push(`output '${v.name}' of ${node.describe()} is not registered in the graph`);
      if (defined.has(v.name)) problems.push(`'${v.name}' is defined twice`);
      defined.add(v.name);
    });
    for (const g of node.subgraphs()) {
      if (g.parent !== graph) problems.push(`subgraph '${g.name}' of ${node.describe()} has the wrong parent`);
      verifyGraph(g, problems);
    }
    seen.add(node);
  }
  for (const v of graph.ownValues()) {
    for (const u of v.uses) {
      if (u.node.inputs[u.index] !== v) problems.push(`'${v.name}' records a stale use by ${u.node.describe()}`);
      if (!nodeAlive(u.node, alive)) problems.push(`'${v.name}' is used by a removed node ${u.node.describe()}`);
    }
    if (v.producer && !alive.has(v.producer)) problems.push(`'${v.name}' is produced by a removed node`);
  }
  for (const v of graph.outputs) if (graph.lookup(v.name) !== v) problems.push(`graph output '${v.name}' is not defined`);
}

function nodeAlive(node: Node, aliveHere: ReadonlySet<Node>): boolean {
  return aliveHere.has(node) || (node.graph !== [...aliveHere][0]?.graph && node.graph.nodes.includes(node));
}
