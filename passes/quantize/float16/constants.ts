/**
 * Float constants of a graph (initializers and Constant nodes) read as float32 and narrowed to 16 bits.
 * Narrowing saturates: a finite value beyond the 16-bit range (the -3.4e38 that exporters use to mask
 * attention) becomes the largest finite value rather than -Inf, so that 0 * mask stays 0 and a fully
 * masked row stays a uniform softmax instead of NaN.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { FLOAT16_MAX, float32ToBfloat16, float32ToFloat16 } from '../../../src/math/half.js';
import type { LowType } from './op-support.js';

/** The Constant node defining `v`, if any. */
export function constantNodeOf(v: Value): Node | undefined {
  const p = v.producer;
  return p && p.opType === 'Constant' && (p.domain === '' || p.domain === 'ai.onnx') ? p : undefined;
}

/** A value fixed at export: an initializer that is not also a graph input, or a Constant node's output. */
export function isConstantValue(v: Value): boolean {
  return (v.initializer !== undefined && !v.isGraphInput) || constantNodeOf(v) !== undefined;
}

/** The float32 contents of a constant value, or undefined when `v` is not a float32 constant. */
export function constantFloats(v: Value): Float32Array | undefined {
  if (v.initializer && !v.isGraphInput) return v.initializer.dtype === DType.FLOAT ? v.initializer.toFloat32() : undefined;
  const node = constantNodeOf(v);
  if (!node) return undefined;
  for (const a of node.attributes.values()) {
    if (a.type === 'tensor') return a.value.dtype === DType.FLOAT && a.value.hasBytes ? a.value.toFloat32() : undefined;
    if (a.name === 'value_float' && a.type === 'float') return Float32Array.of(a.value);
    if (a.name === 'value_floats' && a.type === 'floats') return Float32Array.from(a.value);
  }
  return undefined;
}

/** A one-element numeric constant (float or integer), e.g. the exponent of Pow. */
export function constantScalar(v: Value): number | undefined {
  const floats = constantFloats(v);
  if (floats) return floats.length === 1 ? floats[0] : undefined;
  const t = v.initializer && !v.isGraphInput ? v.initializer : constantNodeOf(v)?.attr('value')?.value;
  if (!(t instanceof Tensor) || t.elementCount !== 1 || !t.hasBytes || (t.dtype !== DType.INT64 && t.dtype !== DType.INT32)) return undefined;
  return t.toNumbers()[0];
}

/** Dims of a Constant node's value (a scalar for value_float). */
function constantDims(node: Node, count: number): number[] {
  const a = [...node.attributes.values()][0];
  if (a?.type === 'tensor') return [...a.value.dims];
  return a?.name === 'value_floats' ? [count] : [];
}

export interface Narrowed {
  readonly bits: Uint16Array;
  /** Finite values beyond the 16-bit range, written as the largest finite value. */
  readonly saturated: number;
}

export function narrow(data: Float32Array, low: LowType): Narrowed {
  if (low === DType.BFLOAT16) return { bits: float32ToBfloat16(data, { saturate: true }), saturated: 0 };
  let saturated = 0;
  // 65520 is halfway to the next power of two: from there on float16 rounding gives Inf.
  for (let i = 0; i < data.length; i++) { const a = Math.abs(data[i]!); if (a >= FLOAT16_MAX + 16 && a !== Infinity) saturated++; }
  return { bits: float32ToFloat16(data, { saturate: true }), saturated };
}

/** A narrowed copy of a float32 tensor. */
export function narrowTensor(t: Tensor, low: LowType, name = t.name): { tensor: Tensor; saturated: number } {
  const { bits, saturated } = narrow(t.toFloat32(), low);
  return { tensor: Tensor.fromTyped(name, low, t.dims, bits), saturated };
}

/** The value of a float32 Constant node, narrowed. */
export function narrowConstantValue(node: Node, low: LowType): { tensor: Tensor; saturated: number } {
  const data = constantFloats(node.output(0))!;
  const { bits, saturated } = narrow(data, low);
  return { tensor: Tensor.fromTyped('', low, constantDims(node, data.length), bits), saturated };
}

/** Rewrites a float32 Constant node to hold its value in `low`; returns the count of saturated values. */
export function narrowConstantNode(node: Node, low: LowType): number {
  const { tensor, saturated } = narrowConstantValue(node, low);
  for (const name of [...node.attributes.keys()]) node.removeAttribute(name);
  node.setAttribute('value', { type: 'tensor', value: tensor });
  return saturated;
}

/** The one-element value of a ConstantOfShape (float32 zero when absent) narrowed to `low`. */
export function narrowConstantOfShape(node: Node, low: LowType): number {
  const a = node.attr('value');
  const data = a?.type === 'tensor' ? a.value.toFloat32() : Float32Array.of(0);
  const { bits, saturated } = narrow(data, low);
  node.setAttribute('value', { type: 'tensor', value: Tensor.fromTyped('', low, [1], bits) });
  return saturated;
}
