/** The summary of `llmopt prune --method structured`: per block heads, FFN channels, weights and error; totals. */
import type { Cell, Report, Section } from '../../report/report.js';
import { formatBytes, formatCount } from '../../report/report.js';
import type { StepReport } from '../../pipeline/manager.js';
import type { LayerShrink, PruneRequest } from '../../workflows/prune.js';
import type { BlockShrink, ShrinkMeasure } from '../../workflows/prune-structured.js';
import { describeQualityChange, type Quality } from '../../eval/evaluate.js';
import { passTimeLine, pct } from './prune-report.js';

export interface StructuredSummary {
  readonly input: string;
  readonly output: string;
  readonly request: PruneRequest;
  readonly step: StepReport | undefined;
  readonly measure: ShrinkMeasure;
  /** Linear layers whose weights changed size. */
  readonly linears: readonly LayerShrink[];
  /** The model and data files, before and after. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly calibrationRows: number | undefined;
  readonly baseline?: Quality;
  readonly quality?: Quality;
}

const change = (before: number | undefined, after: number | undefined): string =>
  before === undefined || after === undefined ? '–' : before === after ? String(before) : `${before} -> ${after}`;

export function structuredPruneReport(s: StructuredSummary): Report {
  const m = s.measure;
  const removed = m.paramsBefore - m.paramsAfter;
  const lines = [
    `pass: ${s.request.pass} ${JSON.stringify(s.request.options)}`,
    `parameters: ${formatCount(m.paramsBefore)} -> ${formatCount(m.paramsAfter)} (${pct(removed / Math.max(1, m.paramsBefore))} removed)`,
    `linear layers resized: ${s.linears.length}, weights ${formatCount(s.linears.reduce((n, l) => n + l.paramsBefore, 0))} -> ${formatCount(s.linears.reduce((n, l) => n + l.paramsAfter, 0))}`,
    `blocks: ${m.blocks.length - m.blocks.filter((b) => b.removed).length} of ${m.blocks.length} kept`,
    `size: ${formatBytes(s.bytesBefore)} -> ${formatBytes(s.bytesAfter)} (${(s.bytesAfter / Math.max(1, s.bytesBefore)).toFixed(3)}x)`,
    passTimeLine(s.step, s.calibrationRows),
  ];
  if (m.outputError) lines.push(`output '${m.outputError.value}': relative error ${m.outputError.relativeError.toExponential(2)} against the dense model on ${m.rows} rows`);
  else lines.push('output error: not measured (give --calib or --eval data)');
  if (s.baseline && s.quality) {
    lines.push(`quality: ${describeQualityChange(s.baseline, s.quality)}`);
  }
  const sections: Section[] = [{ title: 'Result', lines }];
  if (m.blocks.length) sections.push({ title: 'Blocks (relative error: the block\'s output stream against the dense model)', table: blockTable(m.blocks) });
  return {
    title: `llmopt prune: ${s.input} -> ${s.output} (${s.request.method})`,
    sections,
    warnings: m.paired ? [] : ['the output\'s blocks could not be paired with the kept blocks of the input: per-block figures left out'],
    data: {
      input: s.input, output: s.output, method: s.request.method, pass: s.request.pass, options: s.request.options,
      stats: s.step?.stats ?? {}, passMs: s.step?.ms, calibrationRows: s.calibrationRows,
      totals: { paramsBefore: m.paramsBefore, paramsAfter: m.paramsAfter, removedFraction: removed / Math.max(1, m.paramsBefore) },
      outputError: m.outputError, errorRows: m.rows,
      bytesBefore: s.bytesBefore, bytesAfter: s.bytesAfter,
      baseline: s.baseline, quality: s.quality, paired: m.paired, blocks: m.blocks, linears: s.linears,
    },
  };
}

function blockTable(blocks: readonly BlockShrink[]): { columns: string[]; rows: Cell[][] } {
  const sum = (pick: (b: BlockShrink) => number) => blocks.reduce((n, b) => n + pick(b), 0);
  return {
    columns: ['block', 'heads', 'FFN channels', 'weights before', 'weights after', 'kept %', 'relative error'],
    rows: [
      ...blocks.map((b): Cell[] => [
        b.removed ? `${b.block} (removed)` : String(b.block), change(b.headsBefore, b.headsAfter), change(b.channelsBefore, b.channelsAfter),
        b.paramsBefore, b.paramsAfter, Number(((b.paramsAfter / Math.max(1, b.paramsBefore)) * 100).toFixed(1)),
        b.relativeError === undefined ? null : Number(b.relativeError.toExponential(2)),
      ]),
      ['total', '', '', sum((b) => b.paramsBefore), sum((b) => b.paramsAfter), Number(((sum((b) => b.paramsAfter) / Math.max(1, sum((b) => b.paramsBefore))) * 100).toFixed(1)), null],
    ],
  };
}
