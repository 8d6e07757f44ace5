/**
 * `llmopt prune`: unstructured and N:M pruning (magnitude, Wanda, SparseGPT) with reconstruction and checks,
 * and structured pruning (whole heads, FFN channels, blocks) that shrinks the tensors.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { checkOutputPath, loadWithProgress, parseNonNegativeInt, saveWithProgress, uiFor } from '../common.js';
import { tick, type Ui } from '../ui.js';
import { parsePatternFlag, pruneRequest, type PruneFlags } from './prune-flags.js';
import { pruneReport, type PruneSummary, type Sizes } from './prune-report.js';
import type { Report } from '../../report/report.js';
import { structuredPruneReport } from './prune-structured-report.js';
import { checkShrinkRequest, measureShrink, shrinkRequestOf } from '../../workflows/prune-structured.js';
import type { PassContext } from '../../pipeline/pass.js';
import { readDataset, type Dataset } from '../../data/dataset.js';
import { readNpy } from '../../runtime/npy.js';
import { sourceFilesOf } from '../../io/load.js';
import type { Model } from '../../ir/model.js';
import type { SaveResult } from '../../io/save.js';
import { evaluate, type EvalData } from '../../workflows/quantize.js';
import { gzipBytes, layerShrink, layerSparsity, parameterZeros, pruneOnce, PRUNE_METHODS } from '../../workflows/prune.js';
import { ConfigError } from '../../errors.js';

const number = (flag: string) => (raw: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${flag} expects a number, got '${raw}'`);
  return n;
};

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('prune linear layers: unstructured or N:M sparsity by magnitude, Wanda or SparseGPT, refit on calibration data; or structured: remove heads, FFN channels or blocks')
    .argument('<model>', 'input .onnx file')
    .requiredOption('-o, --output <file>', 'output .onnx file (never the input)')
    .requiredOption('--method <m>', `one of ${Object.keys(PRUNE_METHODS).join(', ')}`)
    .option('--sparsity <s>', '(magnitude, wanda, sparsegpt) fraction of each layer\'s weights set to zero, in [0, 1)', number('--sparsity'))
    .option('--scope <scope>', 'layer (every layer gets the sparsity) or global (one ranking over all layers)')
    .option('--pattern <N:M>', 'semi-structured: at most N non-zeros in every M consecutive input weights of an output (2:4 for sparse tensor cores)')
    .option('--schedule <k>', 'reach the sparsity in k steps, re-selecting among the remaining weights (refit between steps)', number('--schedule'))
    .option('--calib <data>', 'calibration data (token ids .npy, .npz by input name, or .jsonl); needed by wanda and sparsegpt; for structured: rank by activations, refit, and measure errors')
    .option('--calib-rows <n>', 'use at most this many calibration rows', parseNonNegativeInt('--calib-rows'))
    .option('--reconstruct', 'refit the kept weights of each layer to its dense output (default with --calib)')
    .option('--no-reconstruct', 'keep the kept weights as they are')
    .option('--exclude <list>', 'comma-separated node names, /regex/ or op types to leave dense')
    .option('--include-head', 'also prune the output head (left dense by default)')
    .option('--embeddings', 'also prune embedding tables (by magnitude within each row)')
    .option('--heads <h>', '(structured) attention heads removed per block: a count (whole key/value groups) or a fraction < 1 of the heads', number('--heads'))
    .option('--ffn-ratio <r>', '(structured) fraction of the FFN channels removed, in (0, 1): in each block, or with --calib spread over the blocks by the pass\'s allocation option', number('--ffn-ratio'))
    .option('--layers <list>', '(structured) comma-separated indices of whole blocks to remove, from 0 (e.g. 1,3)')
    .option('--importance <kind>', '(structured) ranking: norm (weights), activation (needs --calib), auto (activation when --calib is given)')
    .option('--eval <data>', 'evaluation data (token ids .npy): quality before and after')
    .option('--labels <npy>', 'masked-LM labels for --eval (-100 = not scored): accuracy instead of perplexity')
    .option('--eval-rows <n>', 'use at most this many evaluation rows', parseNonNegativeInt('--eval-rows'))
    .option('--options <json>', 'extra options of the method\'s pass as JSON (see `llmopt passes`)')
    .option('--no-verify', 'skip the IR check after the pass')
    .option('--external-data', 'store the output\'s large tensors in a data file next to it')
    .addHelpText('after', `
Examples:
  $ llmopt prune model.onnx -o model.50.onnx --method magnitude --sparsity 0.5
  $ llmopt prune model.onnx -o model.wanda.onnx --method wanda --sparsity 0.5 --calib calib_ids.npy --eval eval_ids.npy
  $ llmopt prune model.onnx -o model.2of4.onnx --method sparsegpt --pattern 2:4 --calib calib_ids.npy --calib-rows 32
  $ llmopt prune model.onnx -o model.60.onnx --method sparsegpt --sparsity 0.6 --scope global --schedule 2 --calib calib_ids.npy --json
  $ llmopt prune model.onnx -o model.small.onnx --method structured --ffn-ratio 0.25
  $ llmopt prune model.onnx -o model.small.onnx --method structured --heads 2 --ffn-ratio 0.25 --layers 3 --calib calib_ids.npy --eval eval_ids.npy

N:M groups run along the input (K) axis of each output: M consecutive elements of a row of a weight stored
[out, in], the layout sparse tensor cores use. The output head stays dense unless --include-head.

Structured pruning takes no --sparsity or --pattern: the weights shrink ([E x F] -> [E x F']), so the model
is smaller and faster on any runtime. --heads 2 removes 2 query heads per block (with grouped-query attention
a whole key/value group at a time: the count must divide into groups); --heads 0.25 removes a quarter. With
--calib, channels and heads are ranked by activations and the down / output projections are refit to the
dense output (--no-reconstruct keeps them); the report gives per block the heads, FFN channels and weights
kept, and the relative error of the block output and of the logits (on --calib, else --eval data).`)
    .action(async (modelPath: string, flags: PruneFlags, cmd: Command) => runPrune(uiFor(cmd), modelPath, flags));
}

async function runPrune(ui: Ui, modelPath: string, flags: PruneFlags): Promise<void> {
  const request = pruneRequest(flags);
  const pattern = parsePatternFlag(flags.pattern);
  checkOutputPath(modelPath, flags.output);
  const original = loadWithProgress(ui, modelPath);
  const structured = request.method === 'structured';
  if (structured) checkShrinkRequest(original, shrinkRequestOf(request.options));
  const calibration = flags.calib ? limitRows(readDataset(flags.calib, original), flags.calibRows) : undefined;
  const evalSet = flags.eval ? readDataset(flags.eval, original) : undefined;
  const evalData = evalSet ? evalDataOf(evalSet, flags) : undefined;
  const task = ui.task(`pruning (${request.method})`);
  const ctx: PassContext = {
    target: 'cpu', seed: 0, verify: flags.verify, calibration,
    progress: (m) => task.update(m), explain: () => {}, warn: (m) => ui.warn(m),
  };
  await tick();
  const baseline = evalData ? await evaluate(original, evalData) : undefined;
  const { model, steps } = await pruneOnce(original, request, ctx);
  task.update(structured ? 'measuring blocks' : 'measuring layers');
  const measure = structured ? await measureShrink(original, model, shrinkRequestOf(request.options).layers, calibration ?? evalSet) : undefined;
  const layers = structured ? [] : await layerSparsity(original, model, calibration, pattern);
  const quality = evalData ? await evaluate(model, evalData) : undefined;
  task.succeed(`pruned (${request.method})`);
  const saved = saveWithProgress(ui, model, flags.output, { externalData: flags.externalData ? 'external' : 'keep' });
  const common = { input: modelPath, output: flags.output, request, step: steps[0], calibrationRows: calibration?.rows, baseline, quality };
  if (measure) {
    ui.report(structuredPruneReport({ ...common, measure, linears: layerShrink(original, model), bytesBefore: bytesOf(sourceFilesOf.get(original) ?? []), bytesAfter: totalOf(saved) }));
    return;
  }
  ui.report(await sparsityReport(ui, original, model, saved, { ...common, layers }));
}

async function sparsityReport(
  ui: Ui, original: Model, model: Model, saved: SaveResult,
  s: Omit<PruneSummary, 'model' | 'dense' | 'pruned'>,
): Promise<Report> {
  const sizing = ui.task('compressing both files to compare sizes');
  const dense = await sizesOf(sourceFilesOf.get(original) ?? []);
  const pruned = await sizesOf([saved.file, ...saved.dataFiles.map((d) => d.file)]);
  sizing.succeed('compared compressed sizes');
  const zerosBefore = parameterZeros(original);
  return pruneReport({
    ...s, model: { params: zerosBefore.params, zerosBefore: zerosBefore.zeros, zerosAfter: parameterZeros(model).zeros },
    dense, pruned: { ...pruned, bytes: totalOf(saved) },
  });
}

function bytesOf(files: readonly string[]): number {
  return files.reduce((n, f) => n + fs.statSync(f).size, 0);
}

async function sizesOf(files: readonly string[]): Promise<Sizes> {
  return { bytes: bytesOf(files), gzipBytes: await gzipBytes(files) };
}

function totalOf(saved: SaveResult): number {
  return saved.bytes + saved.dataFiles.reduce((n, d) => n + d.bytes, 0);
}

function limitRows(data: Dataset, rows: number | undefined): Dataset {
  return rows === undefined ? data : { ...data, rows: Math.min(data.rows, Math.max(1, rows)) };
}

function evalDataOf(data: Dataset, flags: PruneFlags): EvalData {
  const ids = [...data.arrays.values()][0]!;
  const labels = flags.labels ? readNpy(flags.labels) : undefined;
  return { ids, labels, rows: flags.evalRows };
}
