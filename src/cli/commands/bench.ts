/** `llmopt bench`: latency, decode speed, memory, size and accuracy of a model, optionally against a baseline. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { checkOutputPath, uiFor } from '../common.js';
import type { Ui } from '../ui.js';
import { runBench, type BenchOptions } from '../../bench/run.js';
import { benchFigures, benchReport } from '../../bench/report.js';
import { EXECUTION_PROVIDERS, parseProvider } from '../../bench/providers.js';
import type { BenchResult } from '../../bench/result.js';
import { renderMarkdown } from '../../report/render-markdown.js';
import { renderHtml } from '../../report/html.js';
import { ConfigError, FileError } from '../../errors.js';

interface BenchFlags {
  readonly baseline?: string;
  readonly runs?: number;
  readonly seconds?: number;
  readonly warmup: number;
  readonly threads?: number;
  readonly batch?: readonly number[];
  readonly seq?: readonly number[];
  readonly ep?: string;
  readonly newTokens: number;
  readonly cache: boolean;
  readonly isolate?: boolean;
  readonly seed: number;
  readonly data?: string;
  readonly labels?: string;
  readonly dataRows?: number;
  readonly jsonFile?: string;
  readonly markdown?: string;
  readonly html?: string;
}

const whole = (flag: string, min: number) => (raw: string): number => {
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < min) throw new ConfigError(`${flag} expects a whole number ≥ ${min}, got '${raw}'`);
  return n;
};

const list = (flag: string) => (raw: string): number[] => {
  const parts = raw.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (!parts.every((p) => /^\d+$/.test(p)) || values.some((v) => v < 1 || !Number.isSafeInteger(v))) {
    throw new ConfigError(`${flag} expects comma-separated whole numbers ≥ 1 (e.g. 1,8), got '${raw}'`);
  }
  return [...new Set(values)];
};

const seconds = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`--seconds expects a positive number, got '${raw}'`);
  return n;
};

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure latency, decode speed, memory, size and accuracy; A/B against a baseline')
    .argument('<model>', '.onnx file (external data is read from its folder)')
    .option('--baseline <model>', 'a second model to compare with: runs alternate between the two, same inputs')
    .option('--runs <n>', 'timed runs per row (default 20)', whole('--runs', 1))
    .option('--seconds <s>', 'instead of --runs: keep running each row for this long', seconds)
    .option('--warmup <n>', 'untimed runs before each row', whole('--warmup', 0), 3)
    .option('--threads <n>', 'intra-op threads (default: onnxruntime\'s, one per core)', whole('--threads', 1))
    .option('--batch <list>', 'batch sizes, e.g. 1,8; one row per batch × seq (default 1)', list('--batch'))
    .option('--seq <list>', 'sequence lengths, e.g. 128,512 (default 128)', list('--seq'))
    .option('--ep <provider>', `execution provider: ${EXECUTION_PROVIDERS.join(', ')} (default cpu)`)
    .option('--new-tokens <n>', 'decoders: greedy decode steps after the prompt (0: no decode)', whole('--new-tokens', 0), 32)
    .option('--no-cache', 'decoders with a KV cache: re-run the whole prefix each step instead')
    .option('--isolate', 'measure each model\'s memory in a fresh process')
    .option('--seed <n>', 'seed of the random inputs', whole('--seed', 0), 0)
    .option('--data <file>', 'evaluation data (.npy token ids, .npz or .jsonl arrays by input name): quality and logit agreement')
    .option('--labels <npy>', 'masked-LM labels for --data (-100 = not scored)')
    .option('--data-rows <n>', 'use at most this many rows of --data', whole('--data-rows', 1))
    .option('--json-file <file>', 'also write the JSON result to this file')
    .option('--markdown <file>', 'also write the report as Markdown')
    .option('--html <file>', 'also write a self-contained HTML page with charts')
    .addHelpText('after', `
Examples:
  $ llmopt bench model.onnx --batch 1,8 --seq 128,512
  $ llmopt bench model.int4.onnx --baseline model.onnx --data eval_ids.npy --html bench.html
  $ llmopt bench bert.onnx --data mlm_inputs.npy --labels mlm_labels.npy --seconds 5
  $ llmopt --json bench model.onnx --runs 50 | jq '.latency[0].model.p50'`)
    .action(async (modelPath: string, flags: BenchFlags, cmd: Command) => runBenchCommand(uiFor(cmd), modelPath, flags));
}

async function runBenchCommand(ui: Ui, modelPath: string, flags: BenchFlags): Promise<void> {
  const options = benchOptions(modelPath, flags);
  const inputs = [modelPath, flags.baseline, flags.data, flags.labels].filter((f): f is string => !!f);
  for (const out of [flags.jsonFile, flags.markdown, flags.html]) if (out) for (const input of inputs) checkOutputPath(input, out);
  const task = ui.task('benchmarking');
  let result: BenchResult;
  try {
    result = await runBench(options, (m) => task.update(m));
  } catch (err) {
    task.fail('benchmark failed');
    throw err;
  }
  task.succeed('benchmarked');
  const report = benchReport(result);
  if (flags.jsonFile) write(flags.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  if (flags.markdown) write(flags.markdown, renderMarkdown(report));
  if (flags.html) write(flags.html, renderHtml(report, benchFigures(result)));
  ui.report(report);
}

function benchOptions(model: string, f: BenchFlags): BenchOptions {
  if (f.runs !== undefined && f.seconds !== undefined) throw new ConfigError('give --runs or --seconds, not both');
  if (f.labels && !f.data) throw new ConfigError('--labels needs --data');
  return {
    model, baseline: f.baseline, ep: parseProvider(f.ep), threads: f.threads, warmup: f.warmup,
    runs: f.seconds === undefined ? f.runs ?? 20 : undefined, seconds: f.seconds,
    batch: f.batch ?? [1], seq: f.seq ?? [128], newTokens: f.newTokens, cache: f.cache, isolate: !!f.isolate, seed: f.seed,
    data: f.data, labels: f.labels, dataRows: f.dataRows,
  };
}

/** Written through a temporary file, so that a failed write leaves no half file. */
function write(file: string, text: string): void {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new FileError(`${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
}
