/** Greedy decoding with and without the cache, on onnxruntime sessions: what the cache must not change. */
import type { Model } from '../../../src/ir/model.js';
import { DType } from '../../../src/ir/dtype.js';
import { Session } from '../../../src/runtime/session.js';
import type { HostTensor, Outputs } from '../../../src/runtime/tensors.js';

const ids = (tokens: readonly number[]): HostTensor => ({ dtype: DType.INT64, dims: [1, tokens.length], data: BigInt64Array.from(tokens, BigInt) });
const ones = (n: number): HostTensor => ({ dtype: DType.INT64, dims: [1, n], data: new BigInt64Array(n).fill(1n) });

function argmaxLast(logits: HostTensor): number {
  const [, s, v] = logits.dims as [number, number, number];
  const row = (logits.data as Float32Array).subarray((s - 1) * v, s * v);
  let best = 0;
  for (let i = 1; i < v; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export function lastRow(logits: HostTensor): Float32Array {
  const [, s, v] = logits.dims as [number, number, number];
  return (logits.data as Float32Array).slice((s - 1) * v, s * v);
}

/** Runs the whole sequence each step (the model without cache). */
export async function greedyPlain(model: Model, prompt: readonly number[], steps: number): Promise<{ tokens: number[]; logits: HostTensor[] }> {
  const session = await Session.fromModel(model, { threads: 1 });
  const hasMask = session.inputNames.includes('attention_mask');
  const seq = [...prompt];
  const logits: HostTensor[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const out = await session.run({ input_ids: ids(seq), ...(hasMask ? { attention_mask: ones(seq.length) } : {}) });
      logits.push(out.logits!);
      seq.push(argmaxLast(out.logits!));
    }
  } finally { await session.release(); }
  return { tokens: seq.slice(prompt.length), logits };
}

/** Prefill with an empty past, then one token per step with the presents fed back. */
export async function greedyCached(model: Model, prompt: readonly number[], steps: number): Promise<{ tokens: number[]; logits: HostTensor[] }> {
  const pasts = model.graph.inputs.filter((v) => v.name.startsWith('past_key_values.'));
  let past: Record<string, HostTensor> = Object.fromEntries(pasts.map((v) => {
    const dims = v.type!.shape!.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : 0));
    return [v.name, { dtype: DType.FLOAT, dims, data: new Float32Array(0) }];
  }));
  const session = await Session.fromModel(model, { threads: 1 });
  const tokens: number[] = [];
  const logits: HostTensor[] = [];
  let input = [...prompt];
  let length = 0;
  try {
    for (let i = 0; i < steps; i++) {
      length += input.length;
      const out: Outputs = await session.run({ input_ids: ids(input), attention_mask: ones(length), ...past });
      logits.push(out.logits!);
      const next = argmaxLast(out.logits!);
      tokens.push(next);
      input = [next];
      past = Object.fromEntries(pasts.map((v) => [v.name, out[v.name.replace('past_key_values', 'present')]!]));
    }
  } finally { await session.release(); }
  return { tokens, logits };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
