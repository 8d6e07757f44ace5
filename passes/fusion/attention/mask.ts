/**
 * What an attention mask does, learned by running it (exporters build the same causal or padding mask from
 * Trilu, CumSum, Range compares, Where or Expand in ways no pattern list keeps up with). Which inputs' data
 * the mask reads is found structurally (none, or [batch, sequence] inputs named like masks, assumed 0/1;
 * anything else, token ids included, is passed through as an additive bias);
 * the mask's subgraph is then evaluated on synthetic inputs of two sizes, mask inputs as random 0/1 rows,
 * and compared with each hypothesis:
 *
 *   none:           0 everywhere
 *   causal:         0 where key <= query, <= -1e4 above the diagonal
 *   padding(X):     0 where X[b, key] != 0, a constant fill elsewhere (X a [batch, sequence] input)
 *   causal+padding: both
 *   bias:           anything else with the shape of an additive bias [B|1, H|1, S|1, T] (passed through)
 */
import type { Model } from '../../../src/ir/model.js';
import type { Value } from '../../../src/ir/value.js';
import type { FactTable } from '../../../src/pattern/facts.js';
import { dimEquals, type Dim } from '../../../src/pattern/sym.js';
import { dataInputs, isMaskLike, probe, reader, type ProbeSize } from '../../../src/pattern/probe.js';
import type { HostTensor } from '../../../src/runtime/tensors.js';
import { MASKED, type MaskSpec } from './core.js';

export type MaskClass =
  | { readonly kind: 'none' }
  | { readonly kind: 'causal' }
  | { readonly kind: 'padding'; readonly input: Value; readonly causal: boolean; readonly fill: number }
  | { readonly kind: 'bias' }
  | { readonly kind: 'unsupported'; readonly reason: string };

export interface AttentionDims {
  readonly batch: Dim;
  readonly seq: Dim;
  readonly kvSeq: Dim;
  readonly heads: number;
}

const SIZES: readonly ProbeSize[] = [{ batch: 2, sequence: 7 }, { batch: 3, sequence: 4 }];

/**
 * How an additive mask fits the [B|1, H|1, S, T] bias the fused operators take: 'exact', 'expand' (it is
 * [.., .., 1, T]: the same for every query, expanded at run time), or undefined.
 */
export function biasShape(facts: FactTable, v: Value, d: AttentionDims): 'exact' | 'expand' | undefined {
  const s = facts.shape(v);
  if (!s || s.length !== 4) return undefined;
  const one = (x: Dim) => x?.value === 1;
  if (!(one(s[0]) || dimEquals(s[0], d.batch)) || !(one(s[1]) || s[1]?.value === d.heads) || !dimEquals(s[3], d.kvSeq)) return undefined;
  return dimEquals(s[2], d.seq) ? 'exact' : one(s[2]) ? 'expand' : undefined;
}

export async function classifyMask(model: Model, facts: FactTable, spec: MaskSpec, d: AttentionDims, seed: number): Promise<MaskClass> {
  const value = spec.kind === 'add' ? spec.value : spec.cond;
  const passthrough: MaskClass = biasShape(facts, value, d) ? { kind: 'bias' } : { kind: 'unsupported', reason: 'the mask shape is not [B|1, H|1, S|1, T]' };
  const batchDim = d.batch?.toString(), seqDim = d.seq?.toString();
  if (!batchDim || !seqDim || batchDim.startsWith('?') || seqDim.startsWith('?') || !d.batch!.symbols().length || !d.seq!.symbols().length) return passthrough;
  // which inputs' data the mask reads: none (built from shapes), or [batch, sequence] 0/1 mask inputs
  const reads = dataInputs(value);
  if (reads.some((i) => !isMaskInput(i, batchDim, seqDim))) return passthrough;
  const hypotheses = hypothesesFor(reads, dimEquals(d.seq, d.kvSeq));
  let alive = hypotheses;
  for (const [i, size] of SIZES.entries()) {
    let result;
    try {
      result = await probe(model, [value], { batchDim, seqDim }, size, seed + i, reads);
    } catch {
      return passthrough;
    }
    const t = result.values[value.name]!;
    const heads = t.dims.length === 4 ? t.dims[1]! : 1;
    const mask = asAdditive(t, spec);
    alive = alive.filter((h) => h.holds(mask, { ...size, heads }, result.feeds));
    if (!alive.length) return passthrough;
  }
  return alive[0]!.result;
}

/**
 * An input holding 0/1 per token: named like a mask (attention_mask), [batch, sequence], integer or bool,
 * and not indexing an embedding table. Only for such inputs is probing with 0/1 rows complete.
 */
function isMaskInput(input: Value, batchDim: string, seqDim: string): boolean {
  const indexesTable = input.uses.some((u) => u.node.opType === 'Gather' && u.index === 1 && !!u.node.inputs[0]?.initializer);
  return /mask/i.test(input.name) && isMaskLike(input, { batchDim, seqDim }) && !indexesTable;
}

interface Sized extends ProbeSize { readonly heads: number }

interface Hypothesis {
  readonly result: MaskClass;
  holds(mask: (i: readonly number[]) => number, size: Sized, feeds: Readonly<Record<string, HostTensor>>): boolean;
}

/** A mask that reads no input can be none or causal; one that reads a mask input is a padding mask. */
function hypothesesFor(candidates: readonly Value[], square: boolean): Hypothesis[] {
  const out: Hypothesis[] = [];
  if (!candidates.length) out.push(pattern({ kind: 'none' }, () => true));
  if (!candidates.length && square) out.push(pattern({ kind: 'causal' }, (_b, i, j) => j <= i));
  for (const input of candidates) {
    for (const causal of square ? [false, true] : [false]) {
      const fills = new Set<number>();
      out.push({
        get result(): MaskClass { return { kind: 'padding', input, causal, fill: [...fills][0] ?? -1e4 }; },
        holds(mask, size, feeds) {
          const x = reader(feeds[input.name]!, 2);
          const ok = check(mask, size, (b, i, j) => (!causal || j <= i) && x([b, j]) !== 0, fills);
          return ok && fills.size === 1;
        },
      });
    }
  }
  return out;
}

function pattern(result: MaskClass, open: (b: number, i: number, j: number) => boolean): Hypothesis {
  return { result, holds: (mask, size) => check(mask, size, open, new Set()) };
}

/** Every [b, h, i, j]: 0 where open, masked (<= -1e4) elsewhere; collects the masked values. */
function check(mask: (i: readonly number[]) => number, size: Sized, open: (b: number, i: number, j: number) => boolean, fills: Set<number>): boolean {
  const s = size.sequence;
  for (let b = 0; b < size.batch; b++) {
    for (let h = 0; h < size.heads; h++) {
      for (let i = 0; i < s; i++) {
        for (let j = 0; j < s; j++) {
          const v = mask([b, h, i, j]);
          if (open(b, i, j) ? v !== 0 : !(v <= MASKED)) return false;
          if (!open(b, i, j)) fills.add(v);
        }
      }
    }
  }
  return true;
}

/** The mask as additive values (a Where condition becomes 0 or its fill). */
function asAdditive(t: HostTensor, spec: MaskSpec): (i: readonly number[]) => number {
  const read = reader(t, 4);
  if (spec.kind === 'add') return read;
  return (i) => ((read(i) !== 0) === spec.keepWhen ? 0 : spec.fill);
}
