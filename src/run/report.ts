/** The report of `llmopt run`: steps, target check, quality, latency, size and the gates, in one Report. */
import { describeQuality } from '../eval/evaluate.js';
import { formatBytes, formatMs, type Report, type Section } from '../report/report.js';
import { formatFigure } from './gates.js';
import { manifestOf, type RunResult } from './pipeline.js';

export function runReport(r: RunResult, toolVersion: string): Report {
  const bytes = (files: RunResult['input']) => files.reduce((n, f) => n + f.bytes, 0);
  const sections: Section[] = [{
    title: 'Steps',
    table: {
      columns: ['pass', 'changed', 'nodes', 'details', 'time'],
      rows: r.reports.map((s) => [s.pass, s.modified, `${s.nodesBefore} -> ${s.nodesAfter}`, formatStats(s.stats), formatMs(s.ms)]),
    },
  }, {
    title: 'Result',
    lines: [
      `size: ${formatBytes(bytes(r.input))} -> ${formatBytes(bytes(r.output))} (ratio ${formatFigure(r.figures.sizeRatio ?? NaN)})`,
      `target ${r.config.target}: ${r.findings.errors} error finding${r.findings.errors === 1 ? '' : 's'}, ${r.findings.warnings} warning${r.findings.warnings === 1 ? '' : 's'}`,
      ...(r.quality ? [
        `quality on ${r.quality.rows} rows: ${describeQuality(r.quality.original)} -> ${describeQuality(r.quality.output)} (drop ${formatPercent(r.figures.accuracyDrop)})`,
      ] : ['quality: not measured (no "data")']),
      ...(r.latency ? [
        `latency (${r.latency.ep}, batch ${r.latency.batch} × seq ${r.latency.seq}, ${r.latency.runs} interleaved runs): median ${formatMs(r.latency.original.p50)} -> ${formatMs(r.latency.output.p50)}, speedup ${r.latency.speedup.value.toFixed(2)}× (${r.latency.speedup.low.toFixed(2)}–${r.latency.speedup.high.toFixed(2)})`,
      ] : ['latency: not measured ("bench" is false)']),
      `written: ${r.config.output}, ${r.manifest}, ${r.sidecar}`,
    ],
  }, {
    title: 'Gates',
    ...(r.gates.length
      ? { table: { columns: ['gate', 'limit', 'measured', 'result'], rows: r.gates.map((g) => [g.gate, g.limit, g.measured === null ? null : formatFigure(g.measured), g.passed ? 'pass' : 'FAIL']) } }
      : { lines: ['none configured'] }),
  }];
  const warnings = r.findings.groups.filter((g) => g.severity === 'error').map((g) => `target ${r.config.target}: ${g.rule}: ${g.message}${g.fix ? ` (fix: ${g.fix})` : ''}`);
  return {
    title: `llmopt run: ${r.config.model} -> ${r.config.output} (target ${r.config.target})`,
    sections,
    warnings,
    data: { ...manifestOf(r, toolVersion), manifest: r.manifest, sidecar: r.sidecar },
  };
}

function formatPercent(x: number | undefined): string {
  return x === undefined ? '–' : `${(x * 100).toFixed(2)} %`;
}

function formatStats(stats: Readonly<Record<string, number>>): string {
  return Object.entries(stats).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ') || '–';
}
