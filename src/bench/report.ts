/** The bench result as a report (terminal, Markdown, HTML tables) and the HTML page's charts. */
import path from 'node:path';
import { formatBytes, formatCount, formatMs, type Cell, type Report, type Section } from '../report/report.js';
import { barPanels, boxPlot, type Bar } from '../report/charts.js';
import type { Figure } from '../report/html.js';
import { describeQuality } from '../eval/evaluate.js';
import type { BenchResult, ModelFacts, ModelRole } from './result.js';
import type { RatioEstimate } from './stats.js';

const TONE: Readonly<Record<ModelRole, number>> = { model: 0, baseline: 1 };
const fixed = (v: number, digits = 3) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : null);

export function benchReport(r: BenchResult): Report {
  const [model, baseline] = r.models;
  const title = `llmopt bench: ${model!.path}${baseline ? ` vs ${baseline.path}` : ''}`;
  const sections: Section[] = [modelsSection(r), latencySection(r)];
  if (r.decode.length) sections.push(decodeSection(r));
  if (r.accuracy) sections.push(accuracySection(r));
  return { title, sections, warnings: r.warnings, data: r };
}

function settingsLine(r: BenchResult): string {
  const s = r.settings;
  const budget = s.runs !== null ? `${s.runs} timed runs` : `${s.seconds} s of timed runs`;
  return `ep ${s.ep}, ${s.threads ?? 'default'} threads, ${s.warmup} warm-up + ${budget} per row${r.models.length > 1 ? ', model and baseline interleaved' : ''}`;
}

function modelsSection(r: BenchResult): Section {
  const rows = r.models.map((m) => [
    m.role, path.basename(m.path), m.kind + (m.kvCache ? ' (KV cache)' : ''), formatBytes(m.bytes), formatCount(m.parameters.total),
    m.parameters.byDtype.map((d) => `${d.dtype} ${formatCount(d.elements)}`).join(', '), formatMs(m.createMs),
    formatBytes(m.memory.peakRssBytes), formatBytes(m.memory.peakDeltaBytes),
  ]);
  const memory = r.models[0]!.memory;
  return {
    title: 'Models',
    lines: [settingsLine(r), `memory: session creation and the first run of each row, ${memory.method}, from ${memory.source}`],
    table: { columns: ['', 'file', 'kind', 'size', 'parameters', 'by dtype', 'session', 'peak RSS', 'RSS added'], rows, align: ['left', 'left', 'left', 'right', 'right', 'left', 'right', 'right', 'right'] },
  };
}

function ratio(s: RatioEstimate | undefined): Cell {
  return s ? `${s.value.toFixed(2)}× (${s.low.toFixed(2)}–${s.high.toFixed(2)})` : null;
}

function latencySection(r: BenchResult): Section {
  const rows: Cell[][] = [];
  for (const l of r.latency) {
    rows.push([l.batch, l.seq, 'model', fixed(l.model.p50), fixed(l.model.p90), fixed(l.model.p99), fixed(l.model.mean), fixed(l.model.stdev), l.model.runs, ...(l.baseline ? [ratio(l.speedup)] : [])]);
    if (l.baseline) rows.push([l.batch, l.seq, 'baseline', fixed(l.baseline.p50), fixed(l.baseline.p90), fixed(l.baseline.p99), fixed(l.baseline.mean), fixed(l.baseline.stdev), l.baseline.runs, null]);
  }
  const columns = ['batch', 'seq', '', 'p50', 'p90', 'p99', 'mean', 'stdev', 'runs', ...(r.models.length > 1 ? ['speedup (p10–p90)'] : [])];
  const lines = r.models.length > 1 ? ['speedup: baseline median / model median (> 1: the model is faster); interval from resampled pairs of runs'] : [];
  return { title: 'Latency (ms)', lines, table: { columns, rows, align: columns.map((_, i) => (i === 2 ? 'left' : 'right')) } };
}

function decodeSection(r: BenchResult): Section {
  const rows: Cell[][] = [];
  for (const d of r.decode) {
    for (const [role, f] of [['model', d.model], ['baseline', d.baseline]] as const) {
      if (!f) continue;
      rows.push([d.batch, d.seq, role, f.cache ? 'yes' : 'no', fixed(f.prefillMs), fixed(f.tokensPerSecond, 1), fixed(f.msPerToken.p50), ...(d.baseline ? [role === 'model' ? ratio(d.speedup) : null] : [])]);
    }
  }
  const columns = ['batch', 'seq', '', 'KV cache', 'prefill ms', 'tokens/s', 'ms/token p50', ...(r.models.length > 1 ? ['speedup (p10–p90)'] : [])];
  return {
    title: `Decode (greedy, ${r.settings.newTokens} new tokens after the prompt)`,
    lines: ['tokens/s = batch × new tokens / time in the model for the decode steps (prefill apart)'],
    table: { columns, rows, align: columns.map((_, i) => (i === 2 || i === 3 ? 'left' : 'right')) },
  };
}

function accuracySection(r: BenchResult): Section {
  const a = r.accuracy!;
  const lines: string[] = [];
  const [m, b] = r.models;
  if (a.model) lines.push(`model: ${describeQuality(a.model)}`);
  if (a.baseline) lines.push(`baseline: ${describeQuality(a.baseline)}`);
  if (a.agreement) {
    const g = a.agreement;
    lines.push(`logits of ${path.basename(m!.path)} vs ${path.basename(b!.path)} over ${g.positions} positions: max abs error ${g.maxAbs.toPrecision(4)}, mean cosine ${g.meanCosine.toFixed(6)}, top-1 agreement ${(g.top1Agreement * 100).toFixed(2)} %`);
  }
  const source = a.source === 'data' ? `${a.file}, ${a.rows} rows` : `the benchmark's random inputs, ${a.rows} sequences`;
  return { title: `Accuracy (${source})`, lines };
}

/** Latency distributions per row and model, and a side-by-side of speed, size and quality. */
export function benchFigures(r: BenchResult): Figure[] {
  const roles = r.models.map((m) => m.role);
  const series = r.latency.flatMap((l) => roles.map((role) => ({
    label: `b${l.batch}×s${l.seq} ${role}`, values: (role === 'model' ? l.model : l.baseline!).samples, tone: TONE[role],
  })));
  const figures: Figure[] = [{ title: 'Latency per run (box: p25–p75, bar: median, whiskers: p1–p99)', svg: boxPlot(series, 'Latency distribution', 'ms') }];
  const first = r.latency[0];
  const bar = (m: ModelFacts, value: number): Bar => ({ label: m.role, value, tone: TONE[m.role] });
  const panels = [
    { title: `p50 ms (b${first?.batch}×s${first?.seq})`, bars: r.models.map((m) => bar(m, m.role === 'model' ? first?.model.p50 ?? NaN : first?.baseline?.p50 ?? NaN)), format: (v: number) => v.toFixed(3) },
    { title: 'size on disk', bars: r.models.map((m) => bar(m, m.bytes)), format: formatBytes },
    { title: 'peak RSS added', bars: r.models.map((m) => bar(m, m.memory.peakDeltaBytes)), format: formatBytes },
  ];
  const d = r.decode[0];
  if (d) panels.push({ title: 'decode tokens/s', bars: r.models.map((m) => bar(m, (m.role === 'model' ? d.model : d.baseline)?.tokensPerSecond ?? NaN)), format: (v: number) => v.toFixed(1) });
  const q = [r.accuracy?.model, r.accuracy?.baseline];
  if (q[0]) {
    const perplexity = q[0].kind === 'perplexity';
    const value = (i: number) => { const x = q[i]; return !x ? NaN : x.kind === 'perplexity' ? x.perplexity : x.accuracy; };
    panels.push({ title: perplexity ? 'perplexity (lower is better)' : 'MLM accuracy', bars: r.models.map((m, i) => bar(m, value(i))), format: (v: number) => v.toFixed(4) });
  } else if (r.accuracy?.agreement) {
    panels.push({ title: 'top-1 agreement', bars: [{ label: 'model vs baseline', value: r.accuracy.agreement.top1Agreement, tone: 0 }], format: (v: number) => `${(v * 100).toFixed(1)} %` });
  }
  figures.push({ title: 'Speed, size, memory and quality side by side', svg: barPanels(panels, 'Comparison') });
  return figures;
}
