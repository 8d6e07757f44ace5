/**
 * Evaluation of a model on token data: perplexity for decoders (ids [N, seq]), masked-LM accuracy for
 * encoders (ids + labels). Batches stream through one onnxruntime session.
 */
import type { Model } from '../ir/model.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { DType } from '../ir/dtype.js';
import { PerplexityAccumulator, MaskedAccuracyAccumulator } from './metrics.js';
import { ConfigError } from '../errors.js';

export interface EvalOptions extends SessionOptions {
  readonly batchSize?: number;
  /** Use at most this many rows of the data. */
  readonly limit?: number;
}

export interface DecoderQuality { readonly kind: 'perplexity'; readonly perplexity: number; readonly nll: number; readonly tokens: number }
export interface EncoderQuality { readonly kind: 'mlm'; readonly accuracy: number; readonly loss: number; readonly scored: number }
export type Quality = DecoderQuality | EncoderQuality;

export async function evaluatePerplexity(model: Model, ids: HostTensor, options: EvalOptions = {}): Promise<DecoderQuality> {
  const [rows, seq] = checkIds(ids);
  const acc = new PerplexityAccumulator();
  await forEachBatch(model, ids, rows, seq, options, undefined, (logits, batchIds, batch) => {
    const vocab = logits.dims[2]!;
    acc.add(logits.data as Float32Array, batchIds, batch, seq, vocab);
  });
  return { kind: 'perplexity', perplexity: acc.perplexity, nll: acc.meanNll, tokens: acc.tokens };
}

export async function evaluateMaskedLm(model: Model, ids: HostTensor, labels: HostTensor, options: EvalOptions = {}): Promise<EncoderQuality> {
  const [rows, seq] = checkIds(ids);
  if (labels.dims.join() !== ids.dims.join()) throw new ConfigError(`labels shape [${labels.dims}] differs from ids shape [${ids.dims}]`);
  const acc = new MaskedAccuracyAccumulator();
  const labelData = labels.data as BigInt64Array;
  await forEachBatch(model, ids, rows, seq, options, labelData, (logits, _ids, batch, start) => {
    const vocab = logits.dims[2]!;
    acc.add(logits.data as Float32Array, labelData.subarray(start * seq, (start + batch) * seq), batch * seq, vocab);
  });
  return { kind: 'mlm', accuracy: acc.accuracy, loss: acc.loss, scored: acc.scored };
}

/** Perplexity for token data alone, masked-LM accuracy when labels are given. */
export async function evaluateQuality(model: Model, ids: HostTensor, labels?: HostTensor, options: EvalOptions = {}): Promise<Quality> {
  return labels ? evaluateMaskedLm(model, ids, labels, options) : evaluatePerplexity(model, ids, options);
}

/** Relative loss of quality: perplexity increase or accuracy decrease over the baseline's value. */
export function relativeDrop(baseline: Quality, candidate: Quality): number {
  if (baseline.kind === 'perplexity' && candidate.kind === 'perplexity') return (candidate.perplexity - baseline.perplexity) / baseline.perplexity;
  if (baseline.kind === 'mlm' && candidate.kind === 'mlm') return (baseline.accuracy - candidate.accuracy) / baseline.accuracy;
  throw new ConfigError('cannot compare a perplexity with an accuracy');
}

/** "perplexity 3.3465" / "MLM accuracy 0.8264 (loss 0.6205)". */
export function describeQuality(q: Quality): string {
  return q.kind === 'perplexity' ? `perplexity ${q.perplexity.toFixed(4)}` : `MLM accuracy ${q.accuracy.toFixed(4)} (loss ${q.loss.toFixed(4)})`;
}

/** "perplexity 3.2953 -> perplexity 3.3121 (relative drop 0.51 %)". */
export function describeQualityChange(baseline: Quality, after: Quality): string {
  return `${describeQuality(baseline)} -> ${describeQuality(after)} (relative drop ${(relativeDrop(baseline, after) * 100).toFixed(2)} %)`;
}

function checkIds(ids: HostTensor): [number, number] {
  if (ids.dims.length !== 2 || ids.dtype !== DType.INT64) throw new ConfigError(`token data must be int64 [rows, sequence], got dims [${ids.dims}]`);
  return [ids.dims[0]!, ids.dims[1]!];
}

type BatchFn = (logits: HostTensor, ids: BigInt64Array, batch: number, start: number) => void;

async function forEachBatch(model: Model, ids: HostTensor, rows: number, seq: number, options: EvalOptions, labels: BigInt64Array | undefined, fn: BatchFn): Promise<void> {
  const session = await Session.fromModel(model, options);
  const total = Math.min(rows, options.limit ?? rows);
  const batchSize = options.batchSize ?? 8;
  const data = ids.data as BigInt64Array;
  const inputNames = session.inputNames;
  try {
    for (let start = 0; start < total; start += batchSize) {
      const batch = Math.min(batchSize, total - start);
      const batchIds = data.subarray(start * seq, (start + batch) * seq);
      const feeds: Record<string, HostTensor> = {};
      for (const name of inputNames) feeds[name] = feedFor(name, batchIds, batch, seq, labels !== undefined);
      const out = await session.run(feeds);
      const logits = out[session.outputNames[0]!]!;
      fn(logits, batchIds, batch, start);
    }
  } finally {
    await session.release();
  }
}

function feedFor(name: string, ids: BigInt64Array, batch: number, seq: number, encoder: boolean): HostTensor {
  if (/mask/i.test(name)) return { dtype: DType.INT64, dims: [batch, seq], data: new BigInt64Array(batch * seq).fill(1n) };
  if (/token_type|segment/i.test(name)) return { dtype: DType.INT64, dims: [batch, seq], data: new BigInt64Array(batch * seq) };
  if (/position/i.test(name)) {
    const pos = new BigInt64Array(batch * seq);
    for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) pos[b * seq + t] = BigInt(t);
    return { dtype: DType.INT64, dims: [batch, seq], data: pos };
  }
  void encoder;
  return { dtype: DType.INT64, dims: [batch, seq], data: ids };
}
