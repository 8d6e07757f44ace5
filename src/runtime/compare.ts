/** Output comparison: max absolute / relative error and cosine similarity, per output and overall. */
import type { HostTensor, Outputs } from './tensors.js';

export interface Difference {
  readonly name: string;
  readonly maxAbs: number;
  /** max |a-b| / max(|a|, tiny) over elements. */
  readonly maxRel: number;
  readonly cosine: number;
  /** Elements that differ (any amount); shapes or types that differ count as all elements. */
  readonly mismatched: number;
  readonly count: number;
  readonly sameShape: boolean;
}

export function compareTensors(name: string, a: HostTensor, b: HostTensor): Difference {
  const count = Array.isArray(a.data) ? a.data.length : (a.data as ArrayLike<unknown>).length;
  const sameShape = a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]) && a.dtype === b.dtype;
  if (!sameShape || Array.isArray(a.data) || Array.isArray(b.data)) {
    const equal = sameShape && JSON.stringify(a.data) === JSON.stringify(b.data);
    return { name, maxAbs: equal ? 0 : Infinity, maxRel: equal ? 0 : Infinity, cosine: equal ? 1 : 0, mismatched: equal ? 0 : count, count, sameShape };
  }
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  let maxAbs = 0, maxRel = 0, dot = 0, nx = 0, ny = 0, mismatched = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Number(x[i]), q = Number(y[i]);
    if (Object.is(p, q) || p === q) { dot += p * q; nx += p * p; ny += q * q; continue; }
    mismatched++;
    const d = Math.abs(p - q);
    const abs = Number.isNaN(d) ? Infinity : d;
    maxAbs = Math.max(maxAbs, abs);
    maxRel = Math.max(maxRel, abs / Math.max(Math.abs(p), 1e-12));
    dot += p * q; nx += p * p; ny += q * q;
  }
  const cosine = nx === 0 && ny === 0 ? 1 : dot / Math.sqrt(nx * ny);
  return { name, maxAbs, maxRel, cosine, mismatched, count, sameShape };
}

export function compareOutputs(a: Outputs, b: Outputs): Difference[] {
  return Object.keys(a).map((name) => {
    const other = b[name];
    if (!other) return { name, maxAbs: Infinity, maxRel: Infinity, cosine: 0, mismatched: 1, count: 1, sameShape: false };
    return compareTensors(name, a[name]!, other);
  });
}

/** Bitwise equality of two result sets (NaN equals NaN). */
export function identicalOutputs(a: Outputs, b: Outputs): boolean {
  return compareOutputs(a, b).every((d) => d.mismatched === 0 && d.sameShape) && Object.keys(a).length === Object.keys(b).length;
}
