/** The summary of `llmopt prune`: per-layer sparsity and error, totals, compressed sizes, quality. */
import type { Report, Section } from '../../report/report.js';
import { formatBytes, formatCount, formatMs } from '../../report/report.js';
import type { StepReport } from '../../pipeline/manager.js';
import type { LayerSparsity, PruneRequest } from '../../workflows/prune.js';
import { describeQualityChange, type Quality } from '../../eval/evaluate.js';

export interface Sizes {
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface PruneSummary {
  readonly input: string;
  readonly output: string;
  readonly request: PruneRequest;
  readonly step: StepReport | undefined;
  readonly layers: readonly LayerSparsity[];
  readonly model: { readonly params: number; readonly zerosBefore: number; readonly zerosAfter: number };
  readonly dense: Sizes;
  readonly pruned: Sizes;
  readonly calibrationRows: number | undefined;
  readonly baseline?: Quality;
  readonly quality?: Quality;
}

export const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The pass's time, and the calibration rows it read. */
export function passTimeLine(step: StepReport | undefined, calibrationRows: number | undefined): string {
  return `time: ${step ? formatMs(step.ms) : '–'} for the pass${calibrationRows ? `, ${calibrationRows} calibration rows` : ''}`;
}

export function pruneReport(s: PruneSummary): Report {
  const params = s.layers.reduce((n, l) => n + l.params, 0);
  const before = s.layers.reduce((n, l) => n + l.nonZerosBefore, 0);
  const after = s.layers.reduce((n, l) => n + l.nonZerosAfter, 0);
  const nm = s.layers.filter((l) => l.nmOk !== undefined);
  const lines = [
    `pass: ${s.request.pass} ${JSON.stringify(s.request.options)}`,
    `pruned layers: ${s.layers.length}, ${formatCount(params)} weights, non-zeros ${formatCount(before)} -> ${formatCount(after)} (sparsity ${pct(params ? 1 - after / params : 0)})`,
    `whole model: ${formatCount(s.model.params)} float parameters, zeros ${pct(s.model.zerosBefore / Math.max(1, s.model.params))} -> ${pct(s.model.zerosAfter / Math.max(1, s.model.params))}`,
    `size: ${formatBytes(s.dense.bytes)} -> ${formatBytes(s.pruned.bytes)}; gzip ${formatBytes(s.dense.gzipBytes)} -> ${formatBytes(s.pruned.gzipBytes)} (${(s.pruned.gzipBytes / Math.max(1, s.dense.gzipBytes)).toFixed(3)}x)`,
    passTimeLine(s.step, s.calibrationRows),
  ];
  if (nm.length) lines.push(`N:M check: ${nm.filter((l) => l.nmOk).length}/${nm.length} layers pass`);
  if (s.baseline && s.quality) {
    lines.push(`quality: ${describeQualityChange(s.baseline, s.quality)}`);
  }
  const sections: Section[] = [{ title: 'Result', lines }];
  if (s.layers.length) {
    const measured = s.layers.some((l) => l.relativeError !== undefined);
    sections.push({
      title: `Layers${measured ? ' (relative error: the layer\'s output against the dense model on calibration data)' : ''}`,
      table: {
        columns: ['layer', 'sparsity %', 'params', 'non-zeros before', 'non-zeros after', ...(measured ? ['relative error'] : []), ...(nm.length ? ['N:M ok'] : [])],
        rows: [
          ...s.layers.map((l) => [
            l.layer, Number((l.sparsity * 100).toFixed(1)), l.params, l.nonZerosBefore, l.nonZerosAfter,
            ...(measured ? [l.relativeError === undefined ? null : Number(l.relativeError.toExponential(2))] : []),
            ...(nm.length ? [l.nmOk ?? null] : []),
          ]),
          ['total', Number((params ? (1 - after / params) * 100 : 0).toFixed(1)), params, before, after, ...(measured ? [null] : []), ...(nm.length ? [nm.every((l) => l.nmOk)] : [])],
        ],
      },
    });
  }
  return {
    title: `llmopt prune: ${s.input} -> ${s.output} (${s.request.method})`,
    sections,
    warnings: [],
    data: {
      input: s.input, output: s.output, method: s.request.method, pass: s.request.pass, options: s.request.options,
      stats: s.step?.stats ?? {}, passMs: s.step?.ms, calibrationRows: s.calibrationRows,
      totals: { params, nonZerosBefore: before, nonZerosAfter: after, sparsity: params ? 1 - after / params : 0 },
      model: s.model,
      bytesBefore: s.dense.bytes, bytesAfter: s.pruned.bytes, gzipBytesBefore: s.dense.gzipBytes, gzipBytesAfter: s.pruned.gzipBytes,
      nmOk: nm.length ? nm.every((l) => l.nmOk) : undefined,
      baseline: s.baseline, quality: s.quality, layers: s.layers,
    },
  };
}
