/** The summary of `llmopt distill`: kept blocks and what they stand for, size, KL and quality, files written. */
import path from 'node:path';
import type { Report, Section } from '../report/report.js';
import { formatBytes, formatCount, formatMs } from '../report/report.js';
import { describeQuality } from '../eval/evaluate.js';
import type { DistillJob, DistillOutcome } from './run.js';

export function distillReport(job: DistillJob, o: DistillOutcome): Report {
  const { built } = o;
  const blocks = built.map.blocks.length;
  const c = o.comparison;
  const plain = c?.students[0];
  const fitted = job.fit ? c?.students[1] : undefined;
  const reduction = plain && fitted ? 1 - fitted.kl / plain.kl : undefined;
  const lines = [
    `blocks: ${blocks} -> ${built.keep.length} (kept ${built.keep.join(', ')}; removed ${built.drop.removedBlocks.join(', ') || 'none'})`,
    `parameters: ${formatCount(o.parameters.teacher)} -> ${formatCount(o.parameters.student)} (${ratio(o.parameters.student, o.parameters.teacher)})`,
    ...(built.narrowed ? [`narrowed: ${built.narrowed.channelsRemoved ?? 0} MLP channels and ${built.narrowed.headsRemoved ?? 0} heads removed (prune-structured)`] : []),
    `refit: ${job.fit ? `${built.fit.length} projections, ridge ${job.ridge}` : 'off (--no-fit)'}`,
    `student file: ${formatBytes(o.studentBytes)}; took ${formatMs(o.ms)}`,
  ];
  if (c) {
    lines.push(`teacher: ${describeQuality(c.teacher)}`);
    if (plain) lines.push(`${beforeLabel(o)}: KL ${plain.kl.toFixed(4)}, ${describeQuality(plain.quality)}`);
    if (fitted) lines.push(`after refit: KL ${fitted.kl.toFixed(4)}, ${describeQuality(fitted.quality)} (KL ${pct(reduction!)} lower)`);
  }
  const sections: Section[] = [{ title: 'Result', lines }, keptTable(o)];
  const quality = qualityTable(job, o);
  if (quality) sections.push(quality);
  if (built.fit.length) sections.push(fitTable(o));
  const files = [`student: ${job.output}`];
  if (o.softLabels) files.push(`soft labels: ${o.softLabels.result.written.file} (${formatBytes(o.softLabels.result.written.bytes)}, ${o.softLabels.result.arrays.map((a) => `${a.name}[${a.shape.join(',')}]`).join(' ')})`, `manifest: ${o.softLabels.manifest}`);
  if (job.loss) files.push(`loss graph: ${job.loss.file}`);
  sections.push({ title: 'Files', lines: files });
  return {
    title: `llmopt distill: ${job.teacher} -> ${job.output} (${built.keep.length} of ${blocks} blocks)`,
    sections,
    warnings: [],
    data: {
      teacher: job.teacher, output: job.output,
      blocks: { teacher: blocks, kept: built.keep, removed: built.drop.removedBlocks, spans: o.spans, importance: built.importance ?? null },
      parameters: o.parameters, studentBytes: o.studentBytes, ms: o.ms,
      nodes: { teacher: o.teacher.graph.nodes.length, student: built.student.graph.nodes.length },
      narrowed: built.narrowed ?? null,
      fit: { enabled: job.fit, ridge: job.ridge, rows: job.calibRows ?? null, steps: built.fit },
      evaluation: c ? {
        rows: o.evalRows, positions: c.positions, teacher: c.teacher,
        dropped: plain ? { kl: plain.kl, quality: plain.quality } : null,
        fitted: fitted ? { kl: fitted.kl, quality: fitted.quality } : null,
        klReduction: reduction ?? null,
      } : null,
      softLabels: o.softLabels ? { ...o.softLabels.result.written, manifest: o.softLabels.manifest, arrays: o.softLabels.result.arrays, vocabulary: o.softLabels.result.vocab } : null,
      loss: job.loss ? { file: path.resolve(job.loss.file), alpha: job.loss.alpha, temperature: job.loss.temperature, topK: job.loss.topK ?? null } : null,
    },
  };
}

function keptTable(o: DistillOutcome): Section {
  const importance = o.built.importance;
  return {
    title: 'Kept blocks',
    table: {
      columns: ['student block', 'teacher block', 'stands for teacher blocks', 'importance'],
      rows: o.spans.map((s, j) => [j, s.block, s.from === s.to ? `${s.from}` : `${s.from}-${s.to}`, importance ? Number(importance[s.block]!.toFixed(4)) : null]),
    },
  };
}

/** Teacher, blocks dropped, refit: parameters, KL to the teacher, quality. */
function qualityTable(job: DistillJob, o: DistillOutcome): Section | undefined {
  const c = o.comparison;
  if (!c) return undefined;
  const rows: (string | number | null)[][] = [['teacher', o.parameters.teacher, null, describeQuality(c.teacher)]];
  const [plain, fitted] = c.students;
  if (plain) rows.push([beforeLabel(o), o.parameters.student, Number(plain.kl.toFixed(4)), describeQuality(plain.quality)]);
  if (fitted && job.fit) rows.push(['after refit', o.parameters.student, Number(fitted.kl.toFixed(4)), describeQuality(fitted.quality)]);
  return {
    title: `Held-out data (${o.evalRows} rows, ${c.positions} positions; KL(teacher || model) at T = 1, mean per position)`,
    table: { columns: ['model', 'parameters', 'KL', 'quality'], rows, align: ['left', 'right', 'right', 'left'] },
  };
}

function fitTable(o: DistillOutcome): Section {
  return {
    title: 'Refit (token-weighted stream error on calibration data: before -> predicted after)',
    table: {
      columns: ['block', 'target block', 'sublayer', 'projection', 'error before', 'error after'],
      rows: o.built.fit.map((f) => [f.block, f.target, f.sublayer, f.projection, Number(f.errorBefore.toFixed(4)), Number(f.errorAfter.toFixed(4))]),
    },
  };
}

/** The student before the refit: blocks removed (and narrowed). */
function beforeLabel(o: DistillOutcome): string {
  return o.built.narrowed ? 'removed + narrowed' : 'blocks removed';
}

function ratio(a: number, b: number): string {
  return `${(a / Math.max(1, b)).toFixed(3)}x`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

