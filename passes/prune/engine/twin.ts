/**
 * A dense twin inside a probe: the nodes of the dense model that some values depend on, copied into the probe
 * (a copy of the model as pruned so far) under fresh names, reading the same graph inputs. One onnxruntime
 * run then yields a layer input both as the pruned model computes it (X̃) and as the dense model does (X),
 * so their cross products X̃ᵀX come out of the same batch. Initializers the pruned model still shares with
 * the dense one are read from the probe's own copy.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { upstreamNodes } from '../../../src/analysis/walk.js';

/** Value name -> the probe value holding the dense model's version; undefined if the twin cannot be built. */
export function addDenseTwin(probe: Model, dense: Model, names: readonly string[]): Map<string, Value> | undefined {
  const g = probe.graph;
  const needed = upstreamNodes(names.flatMap((name) => dense.graph.lookup(name) ?? []));
  if ([...needed].some((n) => n.subgraphs().length > 0)) return undefined;
  const map = new Map<Value, Value>();
  const lookup = (v: Value): Value => {
    const known = map.get(v);
    if (known) return known;
    const own = g.lookup(v.name);
    let out: Value;
    if (v.isGraphInput && own) out = own;
    else if (v.initializer && own?.initializer && own.initializer.byteSource === v.initializer.byteSource) out = own;
    else if (v.initializer) {
      const t = v.initializer;
      out = g.addConstant(`${v.name}_dense`, Tensor.fromBytes(`${v.name}_dense`, t.dtype, t.dims, t.bytes()));
    } else throw new RangeError(`dense twin: '${v.name}' has no producer in the copy`);
    map.set(v, out);
    return out;
  };
  for (const node of dense.graph.nodes) {
    if (!needed.has(node)) continue;
    const copy = g.addNode({
      opType: node.opType, domain: node.domain, name: g.model.freshNodeName(`${node.name || node.opType}_dense`),
      inputs: node.inputs.map((v) => (v ? lookup(v) : null)),
      outputs: node.outputs.map((v) => (v ? g.model.freshName(`${v.name}_dense`) : '')),
      attributes: Object.fromEntries(node.attributes),
    });
    node.outputs.forEach((v, i) => { if (v) map.set(v, copy.output(i)); });
  }
  const out = new Map<string, Value>();
  for (const name of names) {
    const v = dense.graph.lookup(name);
    if (!v) return undefined;
    out.set(name, lookup(v));
  }
  return out;
}
