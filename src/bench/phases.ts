/** The timed phases of a benchmark, row by row (one row per batch × sequence length). */
import { DType } from '../ir/dtype.js';
import { float16ToFloat32 } from '../math/half.js';
import type { HostTensor } from '../runtime/tensors.js';
import { AgreementAccumulator } from './agreement.js';
import { GreedyDecoder, decodeInterleaved, tokensPerSecond } from './decode.js';
import { rowFeeds, rowIds, type Shape } from './first-runs.js';
import { timeInterleaved } from './latency.js';
import type { BenchOptions, Progress } from './options.js';
import type { OpenedModel } from './prepare.js';
import type { AccuracyFacts, DecodeFigures, DecodeRow, LatencyFigures, LatencyRow } from './result.js';
import { pairRatios, speedup, summarize } from './stats.js';

/** Untimed decode steps before the timed loop: the first one-token run sizes new buffers. */
const DECODE_WARMUP_STEPS = 2;

export async function latencyRows(models: readonly OpenedModel[], rows: readonly Shape[], options: BenchOptions, vocab: number, progress: Progress): Promise<LatencyRow[]> {
  const out: LatencyRow[] = [];
  for (const row of rows) {
    const label = `latency batch ${row.batch} × seq ${row.seq}`;
    progress(label);
    const targets = models.map((m) => ({ session: m.session, feeds: rowFeeds(m.io, row, vocab, options.seed) }));
    const budget = { warmup: options.warmup, runs: options.runs, seconds: options.seconds };
    const samples = await timeInterleaved(targets, budget, (n) => progress(`${label}: ${n}${options.runs ? `/${options.runs}` : ''} runs`));
    const [a, b] = samples;
    out.push({
      ...row, model: figures(a!),
      ...(b ? { baseline: figures(b), speedup: speedup(a!, b, { seed: options.seed }), pairRatio: pairRatios(a!, b) } : {}),
    });
  }
  return out;
}

function figures(samples: readonly number[]): LatencyFigures {
  return { ...summarize(samples), samples: samples.map((s) => Math.round(s * 1e4) / 1e4) };
}

export async function decodeRows(models: readonly OpenedModel[], rows: readonly Shape[], options: BenchOptions, vocab: number, progress: Progress, warnings: string[]): Promise<DecodeRow[]> {
  if (options.newTokens <= 0) return [];
  const notDecoders = models.filter((m) => m.kind !== 'decoder' || !m.io.logits);
  if (notDecoders.length) {
    if (models[0]!.kind === 'decoder') warnings.push(`no decode figures: ${notDecoders.map((m) => m.file).join(', ')} is not a decoder`);
    return [];
  }
  const out: DecodeRow[] = [];
  for (const row of rows) {
    const label = `decode batch ${row.batch} × seq ${row.seq}`;
    const settings = { ...row, newTokens: options.newTokens, useCache: options.cache };
    const prompt = rowIds(row, vocab, options.seed);
    progress(`${label}: warm-up`);
    await decodeInterleaved(models.map((m) => new GreedyDecoder(m.session, m.io, { ...settings, newTokens: Math.min(DECODE_WARMUP_STEPS, options.newTokens) }, prompt)));
    const decoders = models.map((m) => new GreedyDecoder(m.session, m.io, settings, prompt));
    await decodeInterleaved(decoders, (i) => progress(`${label}: step ${i}/${options.newTokens}`));
    const [a, b] = decoders;
    out.push({
      ...row, newTokens: options.newTokens, model: decodeFigures(a!, row.batch),
      ...(b ? { baseline: decodeFigures(b, row.batch), speedup: speedup(a!.stepMs, b.stepMs, { seed: options.seed }) } : {}),
    });
  }
  return out;
}

function decodeFigures(d: GreedyDecoder, batch: number): DecodeFigures {
  return { cache: d.cache, prefillMs: d.prefillMs, tokensPerSecond: tokensPerSecond(d, batch), msPerToken: summarize(d.stepMs) };
}

/** Without data: how closely the two models' logits agree on the benchmark's own inputs. */
export async function syntheticAgreement(models: readonly OpenedModel[], rows: readonly Shape[], vocab: number, seed: number): Promise<AccuracyFacts | null> {
  const [a, b] = models;
  if (!a?.io.logits || !b?.io.logits) return null;
  const acc = new AgreementAccumulator();
  for (const row of rows) {
    const x = (await a.session.run(rowFeeds(a.io, row, vocab, seed)))[a.io.logits];
    const y = (await b.session.run(rowFeeds(b.io, row, vocab, seed)))[b.io.logits];
    if (!x || !y || x.dims.join() !== y.dims.join()) return null;
    const vocabSize = x.dims[x.dims.length - 1] ?? 1;
    const [fx, fy] = [floats(x), floats(y)];
    acc.add(fx, fy, fx.length / vocabSize, vocabSize);
  }
  return { source: 'synthetic', file: null, rows: rows.reduce((n, r) => n + r.batch, 0), model: null, baseline: null, agreement: acc.result() };
}

function floats(t: HostTensor): ArrayLike<number> {
  return t.dtype === DType.FLOAT16 ? float16ToFloat32(t.data as Uint16Array) : t.data as ArrayLike<number>;
}
