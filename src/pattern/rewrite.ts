/** Small rewriting helpers shared by the fusion passes: constants from numbers, removal of what a rewrite orphaned. */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { Tensor, typedArrayFor } from '../ir/tensor.js';
import { DType } from '../ir/dtype.js';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** A tensor of `dtype` holding `values`; undefined for types without a plain typed array (float16, strings). */
export function tensorOf(name: string, dtype: number, dims: readonly number[], values: readonly number[]): Tensor | undefined {
  if (dtype === DType.FLOAT16 || dtype === DType.BFLOAT16) return undefined;
  const ctor = typedArrayFor(dtype);
  if (!ctor) return undefined;
  const data = new ctor(new ArrayBuffer(values.length * ctor.BYTES_PER_ELEMENT), 0, values.length);
  const wide = dtype === DType.INT64 || dtype === DType.UINT64;
  for (let i = 0; i < values.length; i++) {
    // int64 "to the end" markers lose precision as JS numbers: clamp instead of wrapping around
    (data as unknown as (number | bigint)[])[i] = wide ? clampBig(values[i]!) : dtype === DType.BOOL ? (values[i] ? 1 : 0) : values[i]!;
  }
  return Tensor.fromTyped(name, dtype, dims, data);
}

function clampBig(n: number): bigint {
  if (n >= 9.2e18) return INT64_MAX;
  if (n <= -9.2e18) return INT64_MIN;
  return BigInt(Math.trunc(n));
}

/** A new initializer holding `values`. */
export function addConstant(graph: Graph, hint: string, dtype: number, dims: readonly number[], values: readonly number[]): Value {
  const t = tensorOf(hint, dtype, dims, values);
  if (!t) throw new Error(`cannot build a constant of type ${dtype}`);
  return graph.addConstant(hint, t);
}

export const int64 = (graph: Graph, hint: string, values: readonly number[], dims: readonly number[] = [values.length]): Value =>
  addConstant(graph, hint, DType.INT64, dims, values);

export const float32 = (graph: Graph, hint: string, values: readonly number[], dims: readonly number[] = [values.length]): Value =>
  addConstant(graph, hint, DType.FLOAT, dims, values);

/**
 * Removes `seeds` and then every producer they leave unread, walking upwards. Stops at nodes still read by
 * someone. Returns the number of nodes removed.
 */
export function removeOrphans(graph: Graph, seeds: Iterable<Node>): number {
  const pending = [...seeds];
  let removed = 0;
  while (pending.length) {
    const node = pending.pop()!;
    if (!graph.nodes.includes(node) || node.outputs.some((o) => o && !o.isUnused)) continue;
    const producers = node.inputs.map((v) => v?.producer).filter((p): p is Node => !!p && p.graph === graph);
    const inits = node.inputs.filter((v): v is Value => !!v?.initializer);
    graph.removeNode(node);
    removed++;
    pending.push(...producers);
    for (const v of inits) if (v.isUnused && !v.isGraphInput && graph.initializers.includes(v)) graph.removeInitializer(v);
  }
  return removed;
}

/** `scope/rule` from a node name like `/m/layers.0/norm/Mul_1`: new nodes carry the rule name. */
export function nodeName(graph: Graph, root: Node, rule: string): string {
  const at = root.name.lastIndexOf('/');
  return graph.model.freshNodeName(at > 0 ? `${root.name.slice(0, at)}/${rule}` : rule);
}
