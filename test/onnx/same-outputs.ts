/** onnxruntime sessions from model bytes, and a bitwise comparison of their outputs. */
import ort from 'onnxruntime-node';
import { fromOrt, toOrt, type Feeds, type HostTensor } from '../../src/runtime/tensors.js';

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const SESSION: ort.InferenceSession.SessionOptions = {
  // No graph optimization: faster to load, and the models are compared as written.
  graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4,
};

/** A session, or onnxruntime's one-line reason for refusing the model. */
export async function open(bytes: Uint8Array): Promise<ort.InferenceSession | string> {
  try {
    return await ort.InferenceSession.create(bytes, SESSION);
  } catch (err) {
    return firstLine(err);
  }
}

/** Outputs as host tensors, or onnxruntime's one-line reason for failing. */
export async function run(s: ort.InferenceSession, feeds: Feeds): Promise<Record<string, HostTensor> | string> {
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v, k)]));
    const out = await s.run(inputs);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromOrt(v)]));
  } catch (err) {
    return firstLine(err);
  }
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/** Bitwise comparison of two result sets, except that a NaN matches any NaN (payloads may differ). */
export function differenceOf(a: Record<string, HostTensor>, b: Record<string, HostTensor>): string | undefined {
  const names = Object.keys(a);
  if (names.join() !== Object.keys(b).join()) return `outputs [${names}] vs [${Object.keys(b)}]`;
  for (const name of names) {
    const x = a[name]!, y = b[name]!;
    if (x.dtype !== y.dtype || x.dims.join() !== y.dims.join()) return `output '${name}': ${x.dtype}[${x.dims}] vs ${y.dtype}[${y.dims}]`;
    if (Array.isArray(x.data) || Array.isArray(y.data)) {
      if (JSON.stringify(x.data) !== JSON.stringify(y.data)) return `output '${name}': strings differ`;
      continue;
    }
    const p = x.data as Exclude<HostTensor['data'], readonly string[]>;
    const q = y.data as typeof p;
    if (sameBytes(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), new Uint8Array(q.buffer, q.byteOffset, q.byteLength))) continue;
    const at = firstDifference(p, q);
    if (at >= 0) return `output '${name}' differs at element ${at}: ${String(p[at])} vs ${String(q[at])}`;
  }
  return undefined;
}

/** Index of the first element that differs (0 and -0 differ, NaN matches any NaN); -1 when none. */
function firstDifference(p: ArrayLike<number | bigint>, q: ArrayLike<number | bigint>): number {
  for (let i = 0; i < p.length; i++) if (!Object.is(p[i], q[i])) return i;
  return -1;
}
