/**
 * Students against their teacher on held-out data, batch by batch (fixed memory): KL(p_teacher ‖ p_student)
 * at temperature 1, averaged over every token position, and each model's quality: next-token perplexity
 * (decoders) or masked-LM accuracy (when labels are given).
 */
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/dataset.js';
import { Session } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { MaskedAccuracyAccumulator, PerplexityAccumulator } from '../eval/metrics.js';
import type { Quality } from '../eval/evaluate.js';
import { logSoftmaxRow } from './softmax.js';
import { ConfigError } from '../errors.js';

export interface CompareData {
  readonly data: Dataset;
  /** The token ids array of `data` (scored by perplexity). */
  readonly ids: HostTensor;
  /** Masked-LM labels [rows, seq], −100 = not scored. */
  readonly labels?: HostTensor;
  readonly rows?: number;
  readonly batchSize?: number;
}

export interface Comparison {
  readonly teacher: Quality;
  readonly students: readonly { readonly kl: number; readonly quality: Quality }[];
  readonly positions: number;
}

export async function compareToTeacher(teacher: Model, students: readonly Model[], input: CompareData): Promise<Comparison> {
  const { data, ids, labels } = input;
  if (ids.dims.length !== 2) throw new ConfigError(`evaluation ids must be [rows, sequence], got [${ids.dims}]`);
  if (labels && labels.dims.join() !== ids.dims.join()) throw new ConfigError(`labels shape [${labels.dims}] differs from the ids shape [${ids.dims}]`);
  const seq = ids.dims[1]!;
  const sessions = [await Session.fromModel(teacher), ...(await Promise.all(students.map((s) => Session.fromModel(s))))];
  const scores = sessions.map(() => (labels ? new MaskedAccuracyAccumulator() : new PerplexityAccumulator()));
  const kl = new Float64Array(students.length);
  let positions = 0;
  const total = Math.min(data.rows, input.rows ?? data.rows);
  const batch = input.batchSize ?? 8;
  try {
    for (let start = 0; start < total; start += batch) {
      const count = Math.min(batch, total - start);
      const feeds = batchFeeds(data, teacher, start, count);
      const logits: HostTensor[] = [];
      for (const s of sessions) logits.push((await s.run(feeds))[s.outputNames[0]!]!);
      const vocab = logits[0]!.dims.at(-1)!;
      const rowsIds = (ids.data as BigInt64Array).subarray(start * seq, (start + count) * seq);
      logits.forEach((l, i) => score(scores[i]!, l.data as Float32Array, rowsIds, labels, start, count, seq, vocab));
      for (let i = 0; i < students.length; i++) kl[i]! += klSum(logits[0]!.data as Float32Array, logits[i + 1]!.data as Float32Array, vocab);
      positions += count * seq;
    }
  } finally {
    for (const s of sessions) await s.release();
  }
  const qualities = scores.map(qualityOf);
  return { teacher: qualities[0]!, students: students.map((_, i) => ({ kl: kl[i]! / positions, quality: qualities[i + 1]! })), positions };
}

type Accumulator = MaskedAccuracyAccumulator | PerplexityAccumulator;

function score(acc: Accumulator, logits: Float32Array, ids: BigInt64Array, labels: HostTensor | undefined, start: number, count: number, seq: number, vocab: number): void {
  if (acc instanceof PerplexityAccumulator) acc.add(logits, ids, count, seq, vocab);
  else acc.add(logits, (labels!.data as BigInt64Array).subarray(start * seq, (start + count) * seq), count * seq, vocab);
}

function qualityOf(acc: Accumulator): Quality {
  return acc instanceof PerplexityAccumulator
    ? { kind: 'perplexity', perplexity: acc.perplexity, nll: acc.meanNll, tokens: acc.tokens }
    : { kind: 'mlm', accuracy: acc.accuracy, loss: acc.loss, scored: acc.scored };
}

/** Σ over positions of KL(softmax(t) ‖ softmax(s)). */
export function klSum(teacher: Float32Array, student: Float32Array, vocab: number): number {
  const lp = new Float64Array(vocab);
  const lq = new Float64Array(vocab);
  let sum = 0;
  for (let at = 0; at < teacher.length; at += vocab) {
    logSoftmaxRow(teacher, at, vocab, 1, lp);
    logSoftmaxRow(student, at, vocab, 1, lq);
    let kl = 0;
    for (let v = 0; v < vocab; v++) kl += Math.exp(lp[v]!) * (lp[v]! - lq[v]!);
    sum += kl;
  }
  return sum;
}
