/** `llmopt quantize`: dynamic, static, weight-only and fp16/bf16 quantization with quality checks. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { checkOutputPath, loadWithProgress, parseNonNegativeInt, saveWithProgress, totalBytes, uiFor } from '../common.js';
import { tick, type Ui } from '../ui.js';
import { MODES, PASS_OF_MODE, parseMode, passOptions, splitExclude, type QuantizeFlags } from './quantize-flags.js';
import { TARGETS, type PassContext, type Target } from '../../pipeline/pass.js';
import { readDataset, type Dataset } from '../../data/dataset.js';
import { readNpy } from '../../runtime/npy.js';
import { sourceFilesOf } from '../../io/load.js';
import type { Model } from '../../ir/model.js';
import { evaluate, layerErrorTable, quantizeOnce, searchMaxDrop, type EvalData, type QuantizeOutcome, type QuantizeRequest } from '../../workflows/quantize.js';
import { relativeDrop, type Quality } from '../../eval/evaluate.js';
import { suggestExclusions } from '../../eval/layer-error.js';
import { quantizeReport } from './quantize-report.js';
import { ConfigError } from '../../errors.js';
import { finishOutput } from './check.js';
import { unsupportedFloat } from '../../targets/precision.js';

const number = (flag: string) => (raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ConfigError(`${flag} expects a number, got '${raw}'`);
  return n;
};

export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('quantize a model: dynamic or static int8, 4/8-bit weight-only, fp16/bf16')
    .argument('<model>', 'input .onnx file')
    .requiredOption('-o, --output <file>', 'output .onnx file (never the input)')
    .requiredOption('--mode <mode>', `one of ${MODES.join(', ')}`)
    .option('--target <ep>', `execution provider the output is for: ${TARGETS.join(', ')} (default cpu)`)
    .option('--format <form>', 'qoperator | qdq (dynamic, static); matmulnbits | qdq (weight-only); default from the target')
    .option('--per-channel', 'per-output-channel weight scales (dynamic, static)')
    .option('--weight-type <t>', 'dynamic/static weight integer type: auto | s8-reduced | s8 | u8 (auto is exact on the target)')
    .option('--embeddings', 'dynamic: also quantize Gather embedding tables')
    .option('--calib <data>', 'calibration data: .npy, .npz (arrays by input name) or .jsonl (static, gptq, awq)')
    .option('--calib-method <m>', 'static: minmax | percentile | entropy')
    .option('--percentile <p>', 'static with --calib-method percentile: the percentile kept, e.g. 99.99', number('--percentile'))
    .option('--calib-rows <n>', 'use at most this many calibration rows', parseNonNegativeInt('--calib-rows'))
    .option('--smooth-alpha <a>', 'static: SmoothQuant migration strength in [0, 1]', number('--smooth-alpha'))
    .option('--symmetric-activations', 'static: symmetric (int8) activations instead of asymmetric (uint8)')
    .option('--bits <n>', 'weight-only: 4 or 8', number('--bits'))
    .option('--block-size <n>', 'weight-only: 16, 32, 64, 128 or 256 weights per scale', number('--block-size'))
    .option('--algo <a>', 'weight-only: rtn | gptq | awq (gptq and awq need --calib)')
    .option('--asymmetric', 'weight-only: asymmetric blocks (with zero points)')
    .option('--accuracy-level <n>', 'weight-only MatMulNBits accuracy_level: 4 int8 activations (cpu default), 0 float activations (exact; default elsewhere)', number('--accuracy-level'))
    .option('--keep-head-8bit', 'weight-only: keep the output head in 8 bits')
    .option('--exclude <list>', 'comma-separated node names, /regex/ or op types to keep in float')
    .option('--eval <data>', 'evaluation data (token ids .npy): report quality before and after')
    .option('--labels <npy>', 'masked-LM labels for --eval (-100 = not scored): report accuracy instead of perplexity')
    .option('--eval-rows <n>', 'use at most this many evaluation rows', parseNonNegativeInt('--eval-rows'))
    .option('--report', 'per-layer error table (SQNR of each quantized layer\'s output) and a suggested --exclude list')
    .option('--max-drop <x>', 'keep the worst layers in float until the relative quality drop is at most x (needs --eval)', number('--max-drop'))
    .option('--options <json>', 'extra options of the mode\'s pass as JSON (see `llmopt passes`)')
    .option('--no-verify', 'skip the IR check after the pass')
    .option('--external-data', 'store the output\'s large tensors in a data file next to it')
    .addHelpText('after', `
Examples:
  $ llmopt quantize model.onnx -o model.int4.onnx --mode weight-only --bits 4 --block-size 32
  $ llmopt quantize model.onnx -o model.gptq.onnx --mode weight-only --algo gptq --calib calib_ids.npy --eval eval_ids.npy
  $ llmopt quantize model.onnx -o model.int8.onnx --mode dynamic --per-channel
  $ llmopt quantize model.onnx -o model.qdq.onnx --mode static --calib calib_ids.npy --calib-method entropy --target tensorrt
  $ llmopt quantize model.onnx -o model.int8.onnx --mode static --calib calib_ids.npy --eval eval_ids.npy --max-drop 0.01`)
    .action(async (modelPath: string, flags: QuantizeFlags, cmd: Command) => runQuantize(uiFor(cmd), modelPath, flags));
}

async function runQuantize(ui: Ui, modelPath: string, flags: QuantizeFlags): Promise<void> {
  const mode = parseMode(flags.mode);
  const target = parseTarget(flags.target);
  const noBf16 = mode === 'bf16' ? unsupportedFloat(target, 'bfloat16') : undefined;
  if (noBf16) throw new ConfigError(`--mode bf16 does not suit --target ${target}: ${noBf16}; use --mode fp16`);
  if (flags.maxDrop !== undefined && !flags.eval) throw new ConfigError('--max-drop needs --eval data to measure the drop');
  checkOutputPath(modelPath, flags.output);
  const exclude = splitExclude(flags.exclude);
  const request: QuantizeRequest = { pass: PASS_OF_MODE[mode], options: passOptions(mode, flags, exclude), exclude };
  const original = loadWithProgress(ui, modelPath);
  const calibration = flags.calib ? limitRows(readDataset(flags.calib, original), flags.calibRows) : undefined;
  const evalData = flags.eval ? readEvalData(flags, original) : undefined;
  const task = ui.task(`quantizing (${mode})`);
  const ctx: PassContext = {
    target, seed: 0, verify: flags.verify, calibration,
    progress: (m) => task.update(m), explain: () => {}, warn: (m) => ui.warn(m),
  };
  await tick();
  const t0 = performance.now();
  const baseline = evalData ? await evaluate(original, evalData) : undefined;
  let outcome: QuantizeOutcome = { ...(await quantizeOnce(original, request, exclude, ctx)), exclude, attempts: 1 };
  const quantizeMs = performance.now() - t0;
  const errorData = calibration ?? (flags.eval ? readDataset(flags.eval, original) : undefined);
  const errors = (flags.report || flags.maxDrop !== undefined) && errorData ? await layerErrorTable(original, outcome.model, errorData) : undefined;
  if (evalData && baseline) outcome = { ...outcome, quality: await evaluate(outcome.model, evalData) };
  if (flags.maxDrop !== undefined && evalData && baseline && errors && relativeDrop(baseline, outcome.quality!) > flags.maxDrop) {
    outcome = await searchMaxDrop(original, request, ctx, evalData, baseline, errors, flags.maxDrop,
      (n, drop) => task.update(`--max-drop: ${n} layers in float, drop ${(drop * 100).toFixed(2)} %`));
  }
  task.succeed(`quantized (${mode})`);
  const saved = saveWithProgress(ui, outcome.model, flags.output, { externalData: flags.externalData ? 'external' : 'keep' });
  finishOutput(ui, { model: outcome.model, output: flags.output, target, steps: outcome.steps.map((s) => ({ pass: s.pass, modified: s.modified, stats: { ...s.stats }, ...(s.pass === request.pass ? { options: { ...request.options, exclude: [...outcome.exclude] } } : {}) })) });
  ui.report(quantizeReport({
    input: modelPath, output: flags.output, mode, target, request, outcome, baseline, quantizeMs,
    bytesBefore: inputBytes(original), bytesAfter: totalBytes(saved), errors, suggested: errors ? suggestExclusions(errors) : undefined,
    maxDrop: flags.maxDrop,
  }));
}

function parseTarget(raw: string | undefined): Target {
  const target = (raw ?? 'cpu') as Target;
  if (!TARGETS.includes(target)) throw new ConfigError(`--target must be one of ${TARGETS.join(', ')}, got '${raw}'`);
  return target;
}

function limitRows(data: Dataset, rows: number | undefined): Dataset {
  return rows === undefined ? data : { ...data, rows: Math.min(data.rows, Math.max(1, rows)) };
}

function readEvalData(flags: QuantizeFlags, model: Model): EvalData {
  const data = readDataset(flags.eval!, model);
  const ids = [...data.arrays.values()][0]!;
  const labels = flags.labels ? readNpy(flags.labels) : undefined;
  return { ids, labels, rows: flags.evalRows };
}

function inputBytes(model: Model): number {
  return (sourceFilesOf.get(model) ?? []).reduce((n, f) => n + fs.statSync(f).size, 0);
}

export type { Quality };
