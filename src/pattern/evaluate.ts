/**
 * Computes chosen values of a model with onnxruntime: a copy of the graph cut down to what those values
 * need, run once. Used to fold constant subgraphs (no operator is re-implemented here) and to probe how a
 * mask or a position table behaves for a few input shapes.
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { cloneModel } from '../ir/clone.js';
import { runModel } from '../runtime/session.js';
import type { Feeds, HostTensor } from '../runtime/tensors.js';
import { InvariantError } from '../errors.js';

/** A copy of `model` whose outputs are `values` (by name) and whose nodes are only their ancestors. */
export function subModel(model: Model, values: readonly Value[]): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  const outputs = values.map((v) => {
    const found = g.lookup(v.name);
    if (!found) throw new InvariantError(`value '${v.name}' is not in the copied graph`);
    return found;
  });
  g.outputs.splice(0, g.outputs.length, ...new Set(outputs));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (node.outputs.every((o) => !o || o.isUnused)) g.removeNode(node);
  }
  for (let i = g.inputs.length - 1; i >= 0; i--) if (g.inputs[i]!.uses.length === 0 && !g.inputs[i]!.isGraphOutput) g.inputs.splice(i, 1);
  return copy;
}

/** Graph inputs the values depend on (by name). */
export function inputsNeeded(model: Model, values: readonly Value[]): string[] {
  return subModel(model, values).graph.inputs.filter((v) => !v.initializer).map((v) => v.name);
}

/** Runs the cut-down graph with `feeds` (only the inputs it still reads) and returns the values by name. */
export async function evaluate(model: Model, values: readonly Value[], feeds: Feeds = {}): Promise<Record<string, HostTensor>> {
  const sub = subModel(model, values);
  const needed: Record<string, HostTensor> = {};
  for (const input of sub.graph.inputs) {
    if (input.initializer) continue;
    const feed = feeds[input.name];
    if (!feed) throw new InvariantError(`evaluating ${values.map((v) => `'${v.name}'`).join(', ')} needs input '${input.name}'`);
    needed[input.name] = feed;
  }
  // graph optimizations off: the values must be computed exactly as the operators define them
  const out = await runModel(sub, needed, { optimization: 'disabled', threads: 1 });
  return Object.fromEntries(values.map((v) => [v.name, out[v.name]!]));
}
