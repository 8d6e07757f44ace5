/** Pieces shared by the normalisation fusions: reductions over the last axis and per-channel parameters. */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import type { Graph } from '../../../src/ir/graph.js';
import type { Capture } from '../../../src/pattern/match.js';
import { numbers } from '../../../src/pattern/sym.js';
import { normAxis } from '../../../src/pattern/infer-util.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';

/** A ReduceMean over the last axis only, keeping it (axes as attribute or, from opset 18, as input). */
export function meanOverLast(v: Value | null | undefined, m: Capture): Node | undefined {
  const r = m.op(v, 'ReduceMean');
  if (!r) return undefined;
  const rank = m.facts.rank(r.inputs[0]);
  const axes = r.inputs[1] ? m.facts.numbers(r.inputs[1]) : r.getInts('axes');
  if (rank === undefined || !axes) return m.fail('the mean is over unknown axes');
  if (r.getInt('keepdims', 1) !== 1 || axes.length !== 1 || normAxis(axes[0]!, rank) !== rank - 1) {
    return m.fail('the mean is not over the last axis alone with keepdims');
  }
  return r;
}

/** x*x or x^2 -> x. */
export function squared(v: Value | null | undefined, m: Capture): Value | undefined {
  const sq = m.op(v, ['Pow', 'Mul']);
  if (!sq) return undefined;
  if (sq.opType === 'Pow') return m.scalar(sq.inputs[1]) === 2 ? sq.inputs[0]! : m.fail('the exponent is not 2');
  return m.same(sq.inputs[0], sq.inputs[1]) ? sq.inputs[0]! : m.fail('the product is not a square');
}

/** Extent of the last axis of `x`, when it is a number. */
export function channels(x: Value, m: Capture): number | undefined {
  const shape = m.facts.shape(x);
  return shape?.length ? shape[shape.length - 1]?.value : undefined;
}

/** A constant per-channel vector: 1-D [c], or [1, ..., 1, c]; undefined otherwise. */
export function channelVector(v: Value, c: number, m: Capture): Value | undefined {
  const dims = numbers(m.facts.shape(v));
  const init = m.source(v).initializer ? m.source(v) : undefined;
  if (!init || !dims || dims[dims.length - 1] !== c || dims.slice(0, -1).some((d) => d !== 1)) return undefined;
  return init;
}

/** `v` as a 1-D [c] initializer (a reshaped copy when it has leading ones). */
export function asVector(graph: Graph, v: Value, c: number): Value {
  const t = v.initializer!;
  if (t.dims.length === 1) return v;
  return graph.addConstant(`${v.name}_vector`, Tensor.fromBytes(`${v.name}_vector`, t.dtype, [c], t.bytes()));
}

/** A [c] constant filled with `fill`, of the float type `dtype`. */
export function filled(graph: Graph, hint: string, dtype: number, c: number, fill: number): Value | undefined {
  if (dtype !== DType.FLOAT) return undefined;
  return graph.addConstant(hint, Tensor.fromTyped(hint, DType.FLOAT, [c], new Float32Array(c).fill(fill)));
}
