/** Opset-aware building blocks for rewrites (attributes became inputs in opsets 13 and 18). */
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import type { AttributeValue } from '../../../src/ir/node.js';
import { Emitter, int, ints } from './emit.js';

const opset = (e: Emitter) => e.model.opsetVersion('') ?? 1;

export function unsqueeze(e: Emitter, x: Value, axes: readonly number[]): Value {
  return opset(e) >= 13 ? e.op('Unsqueeze', [x, e.i64('axes', axes)]) : e.op('Unsqueeze', [x], { axes: ints(axes) });
}

export function reduceMean(e: Emitter, x: Value, axes: readonly number[]): Value {
  return opset(e) >= 18
    ? e.op('ReduceMean', [x, e.i64('axes', axes)], { keepdims: int(1) })
    : e.op('ReduceMean', [x], { axes: ints(axes), keepdims: int(1) });
}

export function slice(e: Emitter, x: Value, start: number, end: number, axis: number): Value {
  return e.op('Slice', [x, e.i64('starts', [start]), e.i64('ends', [end]), e.i64('axes', [axis])]);
}

/** Dimension `index` of x as a 1-element int64 vector. */
export function dimVector(e: Emitter, x: Value, index: number): Value {
  return e.op('Gather', [e.op('Shape', [x]), e.i64('dim', [index])]);
}

/** Dimension `index` of x as an int64 scalar. */
export function dimScalar(e: Emitter, x: Value, index: number): Value {
  return e.op('Gather', [e.op('Shape', [x]), e.i64('dim', [index], [])]);
}

export function cast(e: Emitter, x: Value, to: number): Value {
  return e.op('Cast', [x], { to: int(to) });
}

/** Positions 0..S-1 of x's axis `seqAxis`, as int64 [B, S] (B from axis 0). */
export function positions(e: Emitter, x: Value, seqAxis: number, offset?: Value): Value {
  const seq = dimScalar(e, x, seqAxis);
  const start = offset ?? e.i64('zero', [0], []);
  const limit = offset ? e.op('Add', [seq, start]) : seq;
  const row = unsqueeze(e, e.op('Range', [start, limit, e.i64('one', [1], [])]), [0]);
  const shape = e.op('Concat', [dimVector(e, x, 0), dimVector(e, x, seqAxis)], { axis: int(0) });
  return e.op('Expand', [row, shape]);
}

/** Keeps float16/bfloat16 math in float32: casts x up, and returns the cast back for the result. */
export function widen(e: Emitter, x: Value, type: number): { x: Value; back: (y: Value) => Value } {
  if (type === DType.FLOAT || type === DType.DOUBLE) return { x, back: (y) => y };
  return { x: cast(e, x, DType.FLOAT), back: (y) => cast(e, y, type) };
}

/** The two equal halves of x along `axis`. */
export function halves(e: Emitter, x: Value, axis: number): [Value, Value] {
  const attrs: Record<string, AttributeValue> = { axis: int(axis) };
  if ((e.model.opsetVersion('') ?? 1) >= 18) attrs.num_outputs = int(2);
  const n = e.node('Split', [x], attrs, 2);
  return [n.output(0), n.output(1)];
}

/** Rank of a value, looking through element-wise casts to a declared type. */
export function rankOf(v: Value | null | undefined): number | undefined {
  for (let at = v; at; at = at.producer && ['Cast', 'Identity'].includes(at.producer.opType) ? at.producer.inputs[0] : undefined) {
    const r = at.type?.shape?.length ?? at.initializer?.dims.length;
    if (r !== undefined) return r;
  }
  return undefined;
}
