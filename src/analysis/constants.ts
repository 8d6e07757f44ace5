/**
 * Constants as analysis sees them: initializers and Constant nodes, small ones read as numbers (scales,
 * epsilons, reshape targets). Large tensors are never read here.
 */
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';

/** The tensor a value is bound to: an initializer or the `value` of a Constant node. */
export function constantTensor(value: Value | null | undefined): Tensor | undefined {
  if (!value) return undefined;
  if (value.initializer) return value.initializer;
  const p = value.producer;
  if (p && p.opType === 'Constant' && p.domain === '') {
    const a = p.attr('value');
    if (a?.type === 'tensor') return a.value;
  }
  return undefined;
}

/** True for initializers and Constant node outputs (any attribute form). */
export function isConstant(value: Value | null | undefined): boolean {
  if (!value) return false;
  return value.initializer !== undefined || (value.producer?.opType === 'Constant' && value.producer.domain === '');
}

/**
 * The elements of a small numeric constant (at most `max`), looking through Cast, Identity, Reshape,
 * Squeeze and Unsqueeze; undefined when the value is not constant or too large.
 */
export function constantNumbers(value: Value | null | undefined, max = 64): number[] | undefined {
  if (!value) return undefined;
  const p = value.producer;
  if (!value.initializer && p && p.domain === '' && PASS_THROUGH.has(p.opType)) return constantNumbers(p.inputs[0], max);
  if (!value.initializer && p?.opType === 'Constant') {
    const attr = constantAttributeNumbers(p);
    if (attr) return attr.length <= max ? attr : undefined;
  }
  const t = constantTensor(value);
  return t && t.elementCount <= max ? tensorNumbers(t) : undefined;
}

/** A single constant number (a rank-0 or one-element tensor). */
export function scalarOf(value: Value | null | undefined): number | undefined {
  const n = constantNumbers(value, 1);
  return n?.length === 1 ? n[0] : undefined;
}

/**
 * A shape operand as far as it is constant: `Concat(Unsqueeze(dynamic), …, [-1], [32])` gives
 * `[null, …, -1, 32]`. Undefined when even the rank is unknown.
 */
export function shapeElements(value: Value | null | undefined): (number | null)[] | undefined {
  if (!value) return undefined;
  const whole = constantNumbers(value, 16);
  if (whole) return whole;
  const p = value.producer;
  if (p?.opType !== 'Concat' || p.domain !== '') return undefined;
  const out: (number | null)[] = [];
  for (const part of p.inputs) {
    const known = constantNumbers(part, 16);
    if (known) out.push(...known);
    else if (isOneElementVector(part)) out.push(null);
    else return undefined;
  }
  return out;
}

/** A dynamic shape piece of one element: `Unsqueeze(scalar)` as exporters write it, or a declared [1]. */
function isOneElementVector(v: Value | null): boolean {
  if (!v) return false;
  if (v.producer?.opType === 'Unsqueeze') return true;
  const shape = v.type?.shape;
  return shape?.length === 1 && shape[0] === 1;
}

const PASS_THROUGH = new Set(['Cast', 'Identity', 'Reshape', 'Squeeze', 'Unsqueeze']);

function constantAttributeNumbers(node: Node): number[] | undefined {
  for (const name of ['value_float', 'value_int']) {
    const a = node.attr(name);
    if (a?.type === 'float' || a?.type === 'int') return [a.value];
  }
  for (const name of ['value_floats', 'value_ints']) {
    const a = node.attr(name);
    if (a?.type === 'floats' || a?.type === 'ints') return [...a.value];
  }
  return undefined;
}

/** Numbers of a small tensor; half and bfloat16 decoded, unsupported types give undefined. */
export function tensorNumbers(t: Tensor): number[] | undefined {
  if (!t.hasBytes) return undefined;
  try {
    if (t.dtype === DType.FLOAT16 || t.dtype === DType.BFLOAT16) {
      const bits = t.toTyped() as Uint16Array;
      return Array.from(bits, t.dtype === DType.FLOAT16 ? halfToFloat : bfloat16ToFloat);
    }
    return t.toNumbers();
  } catch {
    return undefined;
  }
}

export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function bfloat16ToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}
