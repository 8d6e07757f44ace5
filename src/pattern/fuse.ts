/**
 * The driver every fusion pass shares: for each candidate root, match (recording the pattern's nodes),
 * check that nothing outside reads a value inside the pattern, then build the replacement, rewire the
 * readers, remove what the rewrite orphaned, and keep the graph topologically sorted.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { PassContext } from '../pipeline/pass.js';
import { sortTopologically } from '../ir/sort.js';
import { FactTable } from './facts.js';
import { Capture } from './match.js';
import { removeOrphans } from './rewrite.js';

export interface Built {
  /** New values for the root's outputs, by output index (undefined: that output had no readers). */
  readonly outputs: readonly (Value | undefined)[];
  /** Values inside the pattern that outside readers may keep reading through a replacement. */
  readonly exposed?: readonly (readonly [Value, Value])[];
}

export interface Plan {
  /** One line for --explain: what was fused. */
  readonly summary: string;
  /** Inner values that may be read from outside because `build` provides a replacement for them. */
  readonly exposes?: readonly Value[];
  build(): Built;
}

export type Matcher = (root: Node, m: Capture) => Plan | undefined | Promise<Plan | undefined>;

export interface FuseOptions {
  /** Called before the first match and after every rewrite (shared state such as per-graph caches). */
  readonly onFacts?: (facts: FactTable) => void;
}

/** Tries `match` on each root (a snapshot; removed roots are skipped); returns the number of rewrites. */
export async function fuseAll(graph: Graph, ctx: PassContext, pass: string, roots: readonly Node[], match: Matcher, options: FuseOptions = {}): Promise<number> {
  let facts = new FactTable(graph);
  options.onFacts?.(facts);
  let fused = 0;
  const gone = new Set<Node>();
  for (const root of roots) {
    if (gone.has(root) || root.graph !== graph || !graph.nodes.includes(root)) continue;
    const m = new Capture(facts);
    const plan = await match(root, m);
    if (!plan) {
      if (m.failure) ctx.explain(pass, `${root.describe()}: not fused: ${m.failure}`);
      continue;
    }
    m.nodes.add(root);
    const leak = leakOf(m, root, plan.exposes ?? []);
    if (leak) {
      ctx.explain(pass, `${root.describe()}: not fused: '${leak.name}' is computed inside the pattern and read outside it (by ${leak.uses.map((u) => u.node.describe()).join(', ') || 'a graph output'})`);
      continue;
    }
    const built = plan.build();
    root.outputs.forEach((out, i) => {
      const repl = built.outputs[i];
      if (out && repl) out.replaceAllUsesWith(repl);
    });
    for (const [old, repl] of built.exposed ?? []) old.replaceAllUsesWith(repl);
    for (const n of m.nodes) gone.add(n);
    removeOrphans(graph, [...m.nodes].reverse());
    sortTopologically(graph);
    ctx.explain(pass, `${root.describe()}: ${plan.summary}`);
    fused++;
    facts = new FactTable(graph);
    options.onFacts?.(facts);
  }
  return fused;
}

function leakOf(m: Capture, root: Node, exposes: readonly Value[]): Value | undefined {
  const allowed = new Set(exposes);
  for (const n of m.nodes) {
    if (n === root) continue;
    for (const out of n.outputs) {
      if (!out || allowed.has(out)) continue;
      if (out.isGraphOutput || out.uses.some((u) => !m.nodes.has(u.node))) return out;
    }
  }
  return undefined;
}
