/**
 * Quality on data for each model (perplexity for decoders, masked-LM accuracy with labels for encoders,
 * with src/eval's accumulators so that the figures are the same as `evaluateQuality`) and, with two
 * models, how closely their logits agree. Both models see the same batches, interleaved.
 */
import type { Session } from '../runtime/session.js';
import type { Feeds, HostTensor } from '../runtime/tensors.js';
import { DType } from '../ir/dtype.js';
import { float16ToFloat32 } from '../math/half.js';
import { MaskedAccuracyAccumulator, PerplexityAccumulator } from '../eval/metrics.js';
import type { Quality } from '../eval/evaluate.js';
import { AgreementAccumulator, type LogitAgreement } from './agreement.js';
import { rowsOf, type BenchData } from './data.js';
import { makeFeeds } from './feeds.js';
import type { ModelIo } from './model-io.js';
import { runOrder } from './schedule.js';
import { RuntimeError } from '../errors.js';

export interface EvalTarget {
  readonly session: Session;
  readonly io: ModelIo;
  /** Perplexity needs a causal model; masked-LM accuracy needs labels. */
  readonly kind: 'decoder' | 'encoder' | 'unknown';
}

export interface DataAccuracy {
  readonly rows: number;
  /** Per target; null where no quality figure applies (an encoder without labels). */
  readonly quality: readonly (Quality | null)[];
  /** Between the first two targets. */
  readonly agreement: LogitAgreement | null;
}

export interface DataOptions {
  readonly rows?: number;
  readonly batchSize?: number;
  readonly progress?: (rowsDone: number) => void;
}

export async function accuracyOnData(targets: readonly EvalTarget[], data: BenchData, options: DataOptions = {}): Promise<DataAccuracy> {
  const rows = Math.min(data.rows, options.rows ?? data.rows);
  const batchSize = options.batchSize ?? 8;
  const seq = data.ids.dims[1]!;
  const quality = targets.map((t) => (data.labels ? new MaskedAccuracyAccumulator() : t.kind === 'decoder' ? new PerplexityAccumulator() : null));
  const agreement = targets.length > 1 ? new AgreementAccumulator() : null;
  for (let start = 0; start < rows; start += batchSize) {
    const batch = Math.min(batchSize, rows - start);
    const ids = rowsOf(data.ids, start, batch).data as BigInt64Array;
    const logits: Float32Array[] = [];
    for (const k of runOrder(start / batchSize, targets.length)) {
      const t = targets[k]!;
      const out = await t.session.run(dataFeeds(t.io, data, start, batch, ids));
      logits[k] = scores(out[t.io.logits ?? ''], t, batch, seq);
    }
    const vocab = logits[0]!.length / (batch * seq);
    quality.forEach((acc, k) => {
      if (acc instanceof PerplexityAccumulator) acc.add(logits[k]!, ids, batch, seq, vocab);
      else if (acc) acc.add(logits[k]!, rowsOf(data.labels!, start, batch).data as BigInt64Array, batch * seq, vocab);
    });
    if (agreement) {
      if (logits[1]!.length !== logits[0]!.length) throw new RuntimeError('the two models return logits of different shapes');
      agreement.add(logits[0]!, logits[1]!, batch * seq, vocab);
    }
    options.progress?.(start + batch);
  }
  return { rows, quality: quality.map(qualityOf), agreement: agreement?.result() ?? null };
}

function dataFeeds(io: ModelIo, data: BenchData, start: number, batch: number, ids: BigInt64Array): Feeds {
  const feeds: Record<string, HostTensor> = { ...makeFeeds(io, { batch, seq: data.ids.dims[1]! }, { ids }) };
  for (const [name, array] of data.extra) if (name in feeds) feeds[name] = rowsOf(array, start, batch);
  return feeds;
}

function scores(t: HostTensor | undefined, target: EvalTarget, batch: number, seq: number): Float32Array {
  if (!t || t.dims.length !== 3 || t.dims[0] !== batch || t.dims[1] !== seq) {
    throw new RuntimeError(`the model returns no logits [${batch}, ${seq}, vocabulary] to score (output '${target.io.logits ?? '?'}')`);
  }
  if (t.dtype === DType.FLOAT16) return float16ToFloat32(t.data as Uint16Array);
  if (t.dtype !== DType.FLOAT) throw new RuntimeError(`logits of type ${t.dtype} cannot be scored`);
  return t.data as Float32Array;
}

function qualityOf(acc: PerplexityAccumulator | MaskedAccuracyAccumulator | null): Quality | null {
  if (acc instanceof PerplexityAccumulator) return { kind: 'perplexity', perplexity: acc.perplexity, nll: acc.meanNll, tokens: acc.tokens };
  if (acc) return { kind: 'mlm', accuracy: acc.accuracy, loss: acc.loss, scored: acc.scored };
  return null;
}
