/**
 * The cos/sin tables a fused rotary operator reads, taken from the model's own cos/sin values:
 * cos[0, ..., :, :D/2] -> [S, D/2], computed at run time (so any sequence length works). Before that is
 * allowed: they must not read any input's data (so positions are 0..S-1), and running them shows that every
 * batch row is the same and that both halves repeat (the rotate-half layout).
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import type { FactTable } from '../../../src/pattern/facts.js';
import { dataInputs, probe } from '../../../src/pattern/probe.js';
import { int64 } from '../../../src/pattern/rewrite.js';
import type { HostTensor } from '../../../src/runtime/tensors.js';
import type { Rope } from './rope.js';

/** Why the tables cannot be used, or undefined when they can. */
export async function checkRope(model: Model, facts: FactTable, r: Rope, dims: { batchDim: string; seqDim: string }): Promise<string | undefined> {
  for (const v of [r.cos, r.sin]) {
    const s = facts.shape(v);
    const ok = s && (s.length === 2 || (s.length === 4 && s[1]?.value === 1));
    if (!ok) return `the rotary table '${v.name}' is not [S, D] or [B|1, 1, S, D]`;
  }
  for (const v of [r.cos, r.sin]) {
    const reads = dataInputs(v);
    if (reads.length) return `the rotary table '${v.name}' reads the data of '${reads[0]!.name}' (positions other than 0..S-1)`;
  }
  try {
    const a = await probe(model, [r.cos, r.sin], dims, { batch: 2, sequence: 5 }, 11);
    for (const v of [r.cos, r.sin]) {
      const x = a.values[v.name]!;
      if (!rowsEqual(x)) return `the rotary table '${v.name}' differs between batch rows`;
      if (!halvesRepeat(x)) return `the rotary table '${v.name}' is not in the rotate-half layout (halves differ)`;
    }
  } catch (err) {
    return `the rotary tables could not be evaluated (${(err as Error).message.split('\n')[0]})`;
  }
  return undefined;
}

function rowsEqual(t: HostTensor): boolean {
  if (t.dims.length !== 4) return true;
  const row = t.dims.slice(1).reduce((p, d) => p * d, 1);
  const x = t.data as Float32Array;
  for (let i = row; i < x.length; i++) if (x[i] !== x[i % row]) return false;
  return true;
}

function halvesRepeat(t: HostTensor): boolean {
  const d = t.dims[t.dims.length - 1]!;
  const x = t.data as Float32Array;
  for (let i = 0; i < x.length; i += d) {
    for (let j = 0; j < d / 2; j++) if (x[i + j] !== x[i + j + d / 2]) return false;
  }
  return true;
}

/** [S, D/2] view of a [.., S, D] table: the first row of every leading axis, the first half of the last. */
export function halfTable(graph: Graph, table: Value, rank: number, headSize: number, before: Node): Value {
  const lead = Array.from({ length: rank - 2 }, (_, i) => i);
  const name = `${table.name}_half`;
  const slice = graph.addNode({
    opType: 'Slice', before, name: graph.model.freshNodeName(name),
    inputs: [table, int64(graph, `${name}_starts`, [...lead.map(() => 0), 0]), int64(graph, `${name}_ends`, [...lead.map(() => 1), headSize / 2]),
      int64(graph, `${name}_axes`, [...lead, rank - 1])],
  }).output(0);
  if (rank === 2) return slice;
  return graph.addNode({ opType: 'Reshape', before, name: graph.model.freshNodeName(name), inputs: [slice, int64(graph, `${name}_shape`, [-1, headSize / 2])] }).output(0);
}
