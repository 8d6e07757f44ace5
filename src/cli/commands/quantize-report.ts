/** The summary of `llmopt quantize`: what was quantized, size, time, quality, per-layer errors. */
import type { Report, Section } from '../../report/report.js';
import { formatBytes, formatMs } from '../../report/report.js';
import type { Mode } from './quantize-flags.js';
import type { QuantizeOutcome, QuantizeRequest } from '../../workflows/quantize.js';
import { describeQualityChange, type Quality } from '../../eval/evaluate.js';
import type { LayerError } from '../../eval/layer-error.js';

export interface QuantizeSummary {
  readonly input: string;
  readonly output: string;
  readonly mode: Mode;
  readonly target: string;
  readonly request: QuantizeRequest;
  readonly outcome: QuantizeOutcome;
  readonly baseline?: Quality;
  readonly quantizeMs: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly errors?: readonly (LayerError & { node: string })[];
  readonly suggested?: readonly LayerError[];
  readonly maxDrop?: number;
}

export function quantizeReport(s: QuantizeSummary): Report {
  const step = s.outcome.steps[0];
  const lines = [
    `pass: ${s.request.pass} ${JSON.stringify(s.request.options)}`,
    `changes: ${step ? Object.entries(step.stats).map(([k, v]) => `${k} ${v}`).join(', ') : '–'}`,
    `size: ${formatBytes(s.bytesBefore)} -> ${formatBytes(s.bytesAfter)} (${(s.bytesAfter / Math.max(1, s.bytesBefore)).toFixed(3)}x)`,
    `time: ${formatMs(step?.ms ?? s.quantizeMs)} for the pass`,
  ];
  if (s.baseline && s.outcome.quality) {
    lines.push(`quality: ${describeQualityChange(s.baseline, s.outcome.quality)}`);
  }
  if (s.maxDrop !== undefined) lines.push(`--max-drop ${s.maxDrop}: ${s.outcome.exclude.length - s.request.exclude.length} layers kept in float after ${s.outcome.attempts} attempt(s)`);
  const sections: Section[] = [{ title: 'Result', lines }];
  if (s.errors?.length) {
    sections.push({
      title: 'Per-layer error (output of each quantized layer vs float, on calibration data)',
      table: {
        columns: ['layer', 'SQNR dB', 'relative error'],
        rows: [...s.errors].sort((a, b) => a.sqnrDb - b.sqnrDb).map((e) => [e.node, Number.isFinite(e.sqnrDb) ? Number(e.sqnrDb.toFixed(1)) : null, Number(e.relativeError.toExponential(2))]),
      },
    });
  }
  if (s.suggested?.length) {
    const names = s.suggested.map((e) => (s.errors?.find((x) => x.value === e.value)?.node ?? e.value));
    sections.push({ title: 'Suggested', lines: [`--exclude ${names.join(',')}`] });
  }
  return {
    title: `llmopt quantize: ${s.input} -> ${s.output} (${s.mode}, target ${s.target})`,
    sections,
    warnings: [],
    data: {
      input: s.input, output: s.output, mode: s.mode, target: s.target, pass: s.request.pass, options: s.request.options,
      stats: step?.stats ?? {}, passMs: step?.ms, bytesBefore: s.bytesBefore, bytesAfter: s.bytesAfter,
      baseline: s.baseline, quality: s.outcome.quality, exclude: s.outcome.exclude,
      layers: s.errors, suggestedExclude: s.suggested?.map((e) => e.value),
    },
  };
}
