/**
 * Positions that must continue after the cached tokens:
 *   rotary tables  [S, D/2] computed from 0..S-1 -> constant [maxLength, D/2] tables (evaluated once in onnxruntime)
 *   Range(0, S, 1) read from the ids' length  -> Range(P, P + S, 1)   (learned position embeddings)
 *   RotaryEmbedding(x, pos = const 0, ..)     -> RotaryEmbedding(x, pos = [P], ..)
 * P is the past length. With a position_ids input the caller feeds positions and nothing here applies
 * except the rotary tables.
 */
import type { Graph } from '../../src/ir/graph.js';
import type { Value } from '../../src/ir/value.js';
import { DType, isFloat } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { evaluate, inputsNeeded } from '../../src/pattern/evaluate.js';
import type { Feeds, HostTensor } from '../../src/runtime/tensors.js';
import { int64 } from '../../src/pattern/rewrite.js';
import { Builder, int } from './interface.js';

/** Feeds of `length` tokens for whatever inputs the tables read: ones for integers, zeros for floats. */
function probeFeeds(graph: Graph, names: readonly string[], length: number): Feeds | string {
  const feeds: Record<string, HostTensor> = {};
  for (const name of names) {
    const v = graph.lookup(name)!;
    const shape = v.type?.shape;
    if (!shape) return `input '${name}' has no declared shape`;
    const dims = shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : length));
    const n = dims.reduce((a, b) => a * b, 1);
    const dtype = v.type!.elemType;
    if (dtype === DType.INT64) feeds[name] = { dtype, dims, data: new BigInt64Array(n).fill(1n) };
    else if (dtype === DType.INT32) feeds[name] = { dtype, dims, data: new Int32Array(n).fill(1) };
    else if (dtype === DType.FLOAT) feeds[name] = { dtype, dims, data: new Float32Array(n) };
    else return `input '${name}' has a type the probe cannot fill`;
  }
  return feeds;
}

/**
 * The rotary tables as constants covering `length` positions, by the name of the run-time table they replace;
 * a string says why they cannot be (a table that does not grow with the sequence).
 */
export async function constantTables(graph: Graph, tables: readonly Value[], length: number): Promise<Map<string, Value> | string> {
  const out = new Map<string, Value>();
  const todo = [...new Map(tables.filter((t) => !t.initializer).map((t) => [t.name, t])).values()];
  if (!todo.length) return out;
  const feeds = probeFeeds(graph, inputsNeeded(graph.model, todo), length);
  if (typeof feeds === 'string') return feeds;
  const values = await evaluate(graph.model, todo, feeds);
  for (const t of todo) {
    const r = values[t.name]!;
    // fewer rows than asked: the model's own table is that long (a slice of a fixed table), and so is its reach
    if (r.dims.length !== 2 || r.dims[0]! > length || !isFloat(r.dtype)) return `rotary table '${t.name}' is not [sequence, D/2] (got [${r.dims.join(', ')}])`;
    out.set(t.name, graph.addConstant(`${t.name}_cache`, Tensor.fromTyped(`${t.name}_cache`, r.dtype, [...r.dims], r.data as Float32Array)));
  }
  return out;
}

/** Gather(Shape(ids), 1) seen through Cast/Squeeze/Reshape: the current length. */
function isIdsLength(v: Value, ids: Value): boolean {
  let p = v.producer;
  while (p && ['Cast', 'Squeeze', 'Reshape', 'Identity'].includes(p.opType)) p = p.input(0).producer;
  if (!p || p.opType !== 'Gather') return false;
  const shape = p.input(0).producer;
  const index = p.inputs[1]?.initializer?.toNumbers();
  return shape?.opType === 'Shape' && shape.input(0) === ids && index?.length === 1 && index[0] === 1;
}

const constant = (v: Value | null | undefined, x: number): boolean => {
  const n = v?.initializer?.toNumbers();
  return n?.length === 1 && n[0] === x;
};

/** Range(0, S, 1) over the ids' length -> Range(P, P + S, 1). Returns how many were shifted. */
export function shiftRanges(b: Builder, ids: Value, pastLength: () => Value): number {
  let shifted = 0;
  for (const node of b.graph.nodesOfType('Range')) {
    const [start, limit, delta] = node.inputs;
    if (!constant(start, 0) || !constant(delta, 1) || !limit || !isIdsLength(limit, ids)) continue;
    const dtype = start!.initializer!.dtype;
    const p = dtype === DType.INT64 ? pastLength() : b.op('Cast', [pastLength()], { to: int(dtype) }, '', node);
    node.setInput(0, p);
    node.setInput(1, b.op('Add', [p, limit], {}, '', node));
    shifted++;
  }
  return shifted;
}

/** com.microsoft RotaryEmbedding with a constant start 0 -> start [P]. Returns how many were shifted. */
export function shiftRotaryStarts(b: Builder, pastLength: () => Value): number {
  let shifted = 0;
  for (const node of b.graph.nodesOfType('RotaryEmbedding', 'com.microsoft')) {
    if (!constant(node.inputs[1], 0)) continue;
    node.setInput(1, b.op('Reshape', [pastLength(), int64(b.graph, 'one_dim', [1])], {}, '', node));
    shifted++;
  }
  return shifted;
}
