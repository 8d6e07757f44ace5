/**
 * A whole benchmark: prepare the models, the memory phase (session creation and first runs, in-process or
 * isolated), interleaved latency per row, greedy decode for decoders, accuracy on data. Sessions stay
 * open from the memory phase to the end; everything is released on the way out.
 */
import { ConfigError } from '../errors.js';
import { accuracyOnData } from './accuracy.js';
import { readBenchData } from './data.js';
import { firstRuns, type Shape } from './first-runs.js';
import { measureIsolated } from './isolate.js';
import { prepareModel, type OpenedModel, type PreparedModel } from './prepare.js';
import type { BenchOptions, Progress } from './options.js';
import { checkProvider } from './providers.js';
import { decodeRows, latencyRows, syntheticAgreement } from './phases.js';
import type { AccuracyFacts, BenchResult, BenchSettings, ModelFacts } from './result.js';

export type { BenchOptions, Progress };

export async function runBench(options: BenchOptions, progress: Progress = () => {}): Promise<BenchResult> {
  checkProvider(options.ep);
  if (options.labels && !options.data) throw new ConfigError('--labels needs --data');
  const prepared = [prepareModel(options.model, 'model'), ...(options.baseline ? [prepareModel(options.baseline, 'baseline')] : [])];
  const warnings = checkComparable(prepared);
  const data = options.data ? readBenchData(options.data, prepared[0]!.model, prepared[0]!.io, options.labels) : undefined;
  const rows: Shape[] = options.batch.flatMap((batch) => options.seq.map((seq) => ({ batch, seq })));
  const vocab = Math.min(...prepared.map((p) => p.io.vocab));
  const opened: OpenedModel[] = [];
  try {
    for (const p of prepared) opened.push(await openModel(p, rows, options, vocab, progress));
    const latency = await latencyRows(opened, rows, options, vocab, progress);
    const decode = await decodeRows(opened, rows, options, vocab, progress, warnings);
    let accuracy: AccuracyFacts | null = null;
    if (data) {
      const result = await accuracyOnData(opened, data, { rows: options.dataRows, progress: (n) => progress(`accuracy: ${n} rows`) });
      accuracy = { source: 'data', file: data.source, rows: result.rows, model: result.quality[0] ?? null, baseline: result.quality[1] ?? null, agreement: result.agreement };
      if (result.quality[0] === null) warnings.push('no quality figure: perplexity needs a decoder, masked-LM accuracy needs --labels');
    } else if (opened.length > 1) {
      accuracy = await syntheticAgreement(opened, rows, vocab, options.seed);
    }
    return { settings: settingsOf(options), models: opened.map((o) => o.facts), latency, decode, accuracy, warnings };
  } finally {
    for (const o of opened) await o.session.release();
  }
}

/** The memory phase; with --isolate it runs in a child first and the session here is opened afterwards. */
async function openModel(p: PreparedModel, rows: readonly Shape[], options: BenchOptions, vocab: number, progress: Progress): Promise<OpenedModel> {
  const open = { ep: options.ep, threads: options.threads };
  progress(`${p.role}: creating the session and running each shape once${options.isolate ? ' (isolated)' : ''}`);
  const isolated = options.isolate ? await measureIsolated({ file: p.file, io: p.io, rows, open, vocab, seed: options.seed }) : undefined;
  const first = await firstRuns(p.file, p.io, rows, open, vocab, options.seed);
  const measured = isolated ?? first;
  const facts: ModelFacts = { ...p.facts, createMs: measured.createMs, memory: { ...measured.memory, method: isolated ? 'isolated' : 'in-process' } };
  return { ...p, session: first.session, facts };
}

/** Models compared on the same feeds must take the same inputs. */
function checkComparable(models: readonly PreparedModel[]): string[] {
  const [a, b] = models;
  if (!a || !b) return [];
  const names = (p: PreparedModel) => p.io.inputs.filter((i) => i.role !== 'past').map((i) => `${i.name}:${i.dtype}`).sort().join();
  if (names(a) !== names(b)) throw new ConfigError(`${b.file}: the baseline's inputs differ from the model's (${b.io.inputs.map((i) => i.name).join(', ')} vs ${a.io.inputs.map((i) => i.name).join(', ')})`);
  return a.io.vocab !== b.io.vocab ? [`vocabularies differ (${a.io.vocab} vs ${b.io.vocab}): token ids are drawn below ${Math.min(a.io.vocab, b.io.vocab)}`] : [];
}

function settingsOf(o: BenchOptions): BenchSettings {
  return {
    ep: o.ep, threads: o.threads ?? null, warmup: o.warmup, runs: o.runs ?? null, seconds: o.seconds ?? null,
    batch: o.batch, seq: o.seq, newTokens: o.newTokens, cache: o.cache, isolate: o.isolate, seed: o.seed, interleaved: true,
  };
}

