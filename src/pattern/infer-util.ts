/** Helpers shared by the inference rules: broadcasting, element-wise maps over tracked elements, axes. */
import type { Facts } from './facts.js';
import { MAX_TRACKED } from './facts.js';
import { Sym, numbers, type Dim } from './sym.js';
import { DType, isFloat } from '../ir/dtype.js';

/** Multidirectional broadcast of shapes; undefined when a rank is unknown. */
export function broadcastShapes(shapes: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.filter((s) => s!.length - rank + i >= 0).map((s) => s![s!.length - rank + i]);
    out.push(broadcastDim(dims));
  }
  return out;
}

/** One broadcast extent: 1s drop out; a number beats a symbol (which must be 1 or equal); unknown stays unknown. */
function broadcastDim(dims: readonly Dim[]): Dim {
  const rest = dims.filter((d) => d?.value !== 1);
  const known = rest.filter((d): d is Sym => d !== undefined);
  if (known.length === 0) return rest.length ? undefined : Sym.num(1);
  const constant = known.find((d) => d.isConst);
  if (constant) return constant;
  return known.every((d) => d.equals(known[0]!)) ? known[0] : undefined;
}

/** Applies `f` element-wise over tracked inputs with broadcasting; undefined when any input is untracked. */
export function mapElements(ins: readonly Facts[], shape: readonly Dim[] | undefined, f: (xs: Dim[]) => Dim): Dim[] | undefined {
  const dims = numbers(shape);
  if (!dims || ins.some((x) => !x.value || !numbers(x.shape))) return undefined;
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_TRACKED) return undefined;
  const out: Dim[] = [];
  for (let flat = 0; flat < count; flat++) {
    const index = unravel(flat, dims);
    out.push(f(ins.map((x) => x.value![ravelBroadcast(index, numbers(x.shape)!)])));
  }
  return out;
}

function unravel(flat: number, dims: readonly number[]): number[] {
  const index = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    index[i] = flat % dims[i]!;
    flat = Math.floor(flat / dims[i]!);
  }
  return index;
}

function ravelBroadcast(index: readonly number[], dims: readonly number[]): number {
  let flat = 0;
  const offset = index.length - dims.length;
  for (let i = 0; i < dims.length; i++) flat = flat * dims[i]! + (dims[i] === 1 ? 0 : index[i + offset]!);
  return flat;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function isIntType(dtype: number | undefined): boolean {
  return dtype !== undefined && !isFloat(dtype) && dtype !== DType.STRING;
}

/** Division of tracked elements: integers truncate toward zero; symbols only when exact. */
export function divide(a: Dim, b: Dim, integer: boolean): Dim {
  if (!a || !b) return undefined;
  const x = a.value, y = b.value;
  if (x !== undefined && y !== undefined) {
    if (y === 0) return undefined;
    return Sym.num(integer ? Math.trunc(x / y) : x / y);
  }
  return integer ? a.divExact(b) : undefined;
}

/** Equality of tracked elements; a dimension symbol never equals a negative number. */
export function equal(a: Dim, b: Dim): boolean | undefined {
  if (!a || !b) return undefined;
  if (a.equals(b)) return true;
  if (a.isConst && b.isConst) return false;
  const [sym, num] = a.isConst ? [b, a.value!] : [a, b.value];
  if (num !== undefined && num < 0 && sym.nonNegative) return false;
  return undefined;
}

export function bool(x: boolean | undefined): Dim {
  return x === undefined ? undefined : Sym.num(x ? 1 : 0);
}

/** Both numeric: f of the numbers. */
export function numeric(a: Dim, b: Dim, f: (x: number, y: number) => number): Dim {
  const x = a?.value, y = b?.value;
  return x === undefined || y === undefined ? undefined : Sym.num(f(x, y));
}

export function withValue(f: Facts, value: readonly Dim[] | undefined): Facts {
  return value ? { ...f, value } : f;
}
