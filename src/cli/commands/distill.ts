/** `llmopt distill`: a smaller student from a teacher (whole blocks removed, refit), soft labels, a loss graph. */
import type { Command } from 'commander';
import { checkOutputPath, uiFor } from '../common.js';
import { tick, type Ui } from '../ui.js';
import { VERSION } from '../version.js';
import { checkOutputs, runDistill, type DistillJob, type LossJob, type SoftLabelJob } from '../../distill/run.js';
import { distillReport } from '../../distill/report.js';
import { DEFAULT_RIDGE } from '../../distill/fit.js';
import type { KeepSpec } from '../../distill/student.js';
import { structuredPass } from '../../distill/narrow.js';
import { ConfigError } from '../../errors.js';

interface DistillFlags {
  readonly output: string;
  readonly keepLayers?: string;
  readonly layers?: number;
  readonly select?: string;
  readonly calib?: string;
  readonly calibRows?: number;
  readonly fit: boolean;
  readonly ridge?: number;
  readonly eval?: string;
  readonly labels?: string;
  readonly evalRows?: number;
  readonly data?: string;
  readonly dataRows?: number;
  readonly dataLabels?: string;
  readonly softLabels?: string;
  readonly format?: string;
  readonly temperature?: number;
  readonly topK?: number;
  readonly indexType?: string;
  readonly hiddenStates?: string;
  readonly exportLoss?: string | boolean;
  readonly alpha?: number;
  readonly ffnRatio?: number;
  readonly heads?: number;
  readonly externalData?: boolean;
}

const number = (flag: string) => (raw: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${flag} expects a number, got '${raw}'`);
  return n;
};

const positiveInt = (flag: string) => (raw: string): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${flag} expects a whole number of at least 1, got '${raw}'`);
  return n;
};

export function registerDistill(program: Command): void {
  program
    .command('distill')
    .description('make a smaller student from a teacher: remove whole blocks, refit, write soft labels and a loss graph')
    .argument('<teacher>', 'teacher .onnx file')
    .requiredOption('-o, --output <file>', 'student .onnx file (never the teacher)')
    .option('--keep-layers <list>', 'teacher blocks to keep, e.g. 0,2')
    .option('--layers <n>', 'number of blocks to keep', positiveInt('--layers'))
    .option('--select <how>', 'with --layers: even (evenly spaced, default) | importance (measured on --calib)')
    .option('--calib <data>', 'calibration data (.npy, .npz, .jsonl) for --select importance and the refit')
    .option('--calib-rows <n>', 'use at most this many calibration rows', positiveInt('--calib-rows'))
    .option('--no-fit', 'only remove blocks: no closed-form refit of the kept blocks')
    .option('--ridge <λ>', `refit ridge strength, a fraction of the mean diagonal of XᵀX (default ${DEFAULT_RIDGE})`, number('--ridge'))
    .option('--eval <data>', 'held-out data: KL to the teacher and quality before and after the refit')
    .option('--labels <npy>', 'masked-LM labels for --eval (-100 = not scored): accuracy instead of perplexity')
    .option('--eval-rows <n>', 'use at most this many evaluation rows', positiveInt('--eval-rows'))
    .option('--data <data>', 'write the teacher\'s soft labels on this data')
    .option('--data-rows <n>', 'use at most this many rows of --data', positiveInt('--data-rows'))
    .option('--data-labels <npy>', 'masked-LM labels stored with the soft labels (encoders)')
    .option('--soft-labels <file>', 'soft-label file (default: <student>.soft-labels.npz or .safetensors)')
    .option('--format <f>', 'soft-label file format: npz (default) | safetensors')
    .option('--temperature <T>', 'softmax temperature of the soft labels and the loss (default 2)', number('--temperature'))
    .option('--top-k <k>', 'keep the k largest probabilities per position (values + indices) instead of all', positiveInt('--top-k'))
    .option('--index-type <t>', 'dtype of the top-k indices: int64 (default) | int32')
    .option('--hidden-states <list>', 'also store the teacher\'s stream after these blocks, e.g. 1,3')
    .option('--export-loss [file]', 'write the distillation loss as an ONNX graph (default: <student>.loss.onnx)')
    .option('--alpha <a>', 'loss weight of the KL term in [0, 1] (default 0.5)', number('--alpha'))
    .option('--ffn-ratio <r>', 'keep this fraction of each kept block\'s MLP channels, in (0, 1) (structured pruning)', number('--ffn-ratio'))
    .option('--heads <n>', 'keep this many attention heads per kept block (structured pruning, whole key/value groups)', positiveInt('--heads'))
    .option('--external-data', 'store the student\'s large tensors in a data file next to it')
    .addHelpText('after', `
Examples:
  $ llmopt distill llama.onnx -o student.onnx --layers 2 --select importance --calib calib_ids.npy --eval eval_ids.npy
  $ llmopt distill bert.onnx -o student.onnx --keep-layers 2,3 --calib calib_ids.npy --eval mlm_inputs.npy --labels mlm_labels.npy
  $ llmopt distill llama.onnx -o student.onnx --keep-layers 0,3 --no-fit --data train_ids.npy --top-k 32 --hidden-states 1,3 --export-loss`)
    .action(async (teacher: string, flags: DistillFlags, cmd: Command) => runCommand(uiFor(cmd), teacher, flags));
}

async function runCommand(ui: Ui, teacher: string, flags: DistillFlags): Promise<void> {
  const task = ui.task('distilling');
  const job = jobOf(teacher, flags, (m) => task.update(m), (m) => ui.warn(m));
  checkOutputPath(teacher, flags.output);
  checkOutputs(job);
  await tick();
  try {
    const outcome = await runDistill(job);
    task.succeed(`distilled ${outcome.built.map.blocks.length} -> ${outcome.built.keep.length} blocks`);
    ui.report(distillReport(job, outcome));
  } catch (err) {
    task.fail('distillation failed');
    throw err;
  }
}

/** Flags -> job, with every combination that makes no sense refused up front (exit 2). */
export function jobOf(teacher: string, f: DistillFlags, progress: (m: string) => void, warn: (m: string) => void): DistillJob {
  if (f.ffnRatio !== undefined || f.heads !== undefined) structuredPass();
  if (f.ffnRatio !== undefined && !(f.ffnRatio > 0 && f.ffnRatio < 1)) throw new ConfigError(`--ffn-ratio is the fraction of MLP channels kept, in (0, 1); got ${f.ffnRatio}`);
  const needs = (flag: string, value: unknown, what: string, present: unknown) => {
    if (value !== undefined && value !== false && !present) throw new ConfigError(`${flag} needs ${what}`);
  };
  needs('--select', f.select, '--layers', f.layers !== undefined);
  needs('--calib-rows', f.calibRows, '--calib', f.calib);
  needs('--labels', f.labels, '--eval data', f.eval);
  needs('--eval-rows', f.evalRows, '--eval data', f.eval);
  for (const [flag, v] of [['--data-rows', f.dataRows], ['--data-labels', f.dataLabels], ['--soft-labels', f.softLabels], ['--format', f.format], ['--hidden-states', f.hiddenStates]] as const) {
    needs(flag, v, '--data (the soft labels are computed on it)', f.data);
  }
  needs('--alpha', f.alpha, '--export-loss', f.exportLoss);
  needs('--index-type', f.indexType, '--top-k', f.topK !== undefined);
  if (f.ridge !== undefined && !f.fit) throw new ConfigError('--ridge sets the refit, which --no-fit turns off');
  if (f.ridge !== undefined && f.ridge < 0) throw new ConfigError(`--ridge must be 0 or more, got ${f.ridge}`);
  const temperature = f.temperature ?? 2;
  if (!(temperature > 0)) throw new ConfigError(`--temperature must be greater than 0, got ${temperature}`);
  const alpha = f.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new ConfigError(`--alpha must be in [0, 1], got ${alpha}`);
  const indexType = parseChoice('--index-type', f.indexType ?? 'int64', ['int64', 'int32'] as const);
  const stem = f.output.replace(/\.onnx$/i, '');
  let softLabels: SoftLabelJob | undefined;
  if (f.data) {
    const format = parseChoice('--format', f.format ?? (f.softLabels?.endsWith('.safetensors') ? 'safetensors' : 'npz'), ['npz', 'safetensors'] as const);
    softLabels = {
      data: f.data, rows: f.dataRows, labels: f.dataLabels, format, temperature, topK: f.topK, indexType,
      file: f.softLabels ?? `${stem}.soft-labels.${format}`,
      hiddenStates: f.hiddenStates ? parseIndexList('--hidden-states', f.hiddenStates) : [],
    };
  }
  const loss: LossJob | undefined = f.exportLoss
    ? { file: typeof f.exportLoss === 'string' ? f.exportLoss : `${stem}.loss.onnx`, alpha, temperature, topK: f.topK, indexType }
    : undefined;
  return {
    teacher, output: f.output, keep: keepOf(f), fit: f.fit, ridge: f.ridge ?? DEFAULT_RIDGE,
    calib: f.calib, calibRows: f.calibRows,
    eval: f.eval ? { file: f.eval, labels: f.labels, rows: f.evalRows } : undefined,
    softLabels, loss, externalData: !!f.externalData, version: VERSION, progress, warn,
    narrow: f.ffnRatio !== undefined || f.heads !== undefined ? { ffnKeep: f.ffnRatio, headsKept: f.heads } : undefined,
  };
}

function keepOf(f: DistillFlags): KeepSpec {
  if (f.keepLayers !== undefined && f.layers !== undefined) throw new ConfigError('give either --keep-layers or --layers, not both');
  if (f.keepLayers !== undefined) return { kind: 'list', list: f.keepLayers };
  if (f.layers === undefined) throw new ConfigError('say which blocks the student keeps: --keep-layers 0,2 or --layers N');
  const select = parseChoice('--select', f.select ?? 'even', ['even', 'importance'] as const);
  return { kind: select, layers: f.layers };
}

function parseChoice<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) throw new ConfigError(`${flag} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

function parseIndexList(flag: string, raw: string): number[] {
  const out = raw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`${flag} expects block indices such as 1,3, got '${s}'`);
    return n;
  });
  if (!out.length) throw new ConfigError(`${flag} expects block indices such as 1,3`);
  return [...new Set(out)].sort((a, b) => a - b);
}
