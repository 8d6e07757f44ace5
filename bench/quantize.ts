/**
 * Quantization benchmark, two parts:
 *  - memory and throughput: a generated decoder of about 1 B parameters with external data is quantized
 *    (dynamic int8, then 4-bit weight-only) in child processes; peak resident memory against the model's
 *    size, MB/s of input weights;
 *  - speed of the outputs: a GEMM-heavy model (12 blocks 768 <-> 3072) in fp32, int8 and 4-bit, timed
 *    interleaved at 128 tokens and 1 token with 2 threads.
 *
 *   npm run bench:quantize -- [--params 1.05e9] [--hidden 2048] [--vocab 32000] [--runs 30] [--skip-memory] [--skip-speed] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { shapeFor, writeSyntheticModel } from './lib/synthetic-model.js';
import { MODES } from './quantize/modes.js';
import { measureSpeed, type SpeedRow } from './quantize/speed.js';
import type { QuantizeChildReport } from './quantize/child.js';
import { runMain } from './lib/run-main.js';
import { spawnReport } from './lib/run-child.js';

interface Flags {
  params: number; hidden: number; vocab: number; runs: number; threads: number;
  memory: boolean; speed: boolean; json: boolean; dir: string;
}

const USAGE = 'usage: npm run bench:quantize -- [--params 1.05e9] [--hidden 2048] [--vocab 32000] [--runs 30] [--threads 2] [--skip-memory] [--skip-speed] [--dir FOLDER] [--json]';

function parseFlags(argv: readonly string[]): Flags {
  const f: Flags = { params: 1.05e9, hidden: 2048, vocab: 32000, runs: 30, threads: 2, memory: true, speed: true, json: false, dir: os.tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const num = (): number => {
      const n = Number(argv[++i]);
      if (!(n > 0)) throw new Error(`${arg} expects a positive number\n${USAGE}`);
      return n;
    };
    if (arg === '--params') f.params = num();
    else if (arg === '--hidden') f.hidden = Math.round(num());
    else if (arg === '--vocab') f.vocab = Math.round(num());
    else if (arg === '--runs') f.runs = Math.round(num());
    else if (arg === '--threads') f.threads = Math.round(num());
    else if (arg === '--skip-memory') f.memory = false;
    else if (arg === '--skip-speed') f.speed = false;
    else if (arg === '--json') f.json = true;
    else if (arg === '--dir') f.dir = argv[++i] ?? f.dir;
    else throw new Error(`unknown flag '${arg}'\n${USAGE}`);
  }
  return f;
}

interface MemoryRow extends QuantizeChildReport {
  readonly label: string;
  readonly inputBytes: number;
  readonly mbPerS: number;
  readonly peakRatio: number;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'quantize', 'child.js');

function runChild(mode: string, input: string, output: string): QuantizeChildReport {
  return spawnReport<QuantizeChildReport>(CHILD, [mode, input, output], `quantizing (${mode})`);
}

function measureMemory(f: Flags, say: (s: string) => void): { params: number; inputBytes: number; rows: MemoryRow[] } {
  const root = fs.mkdtempSync(path.join(f.dir, 'llmopt-bench-quantize-'));
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => { cleanup(); process.exit(130); });
  try {
    const inputDir = path.join(root, 'input');
    fs.mkdirSync(inputDir);
    say(`generating a model of about ${(f.params / 1e9).toFixed(2)} B parameters ...`);
    const model = writeSyntheticModel(inputDir, shapeFor(f.params * 4, f.hidden, f.vocab));
    const params = Math.round(model.bytes / 4);
    say(`  ${(model.bytes / 1e9).toFixed(2)} GB, ${model.shape.layers} layers, hidden ${f.hidden}`);
    const rows: MemoryRow[] = [];
    for (const [mode, spec] of Object.entries(MODES)) {
      say(`  ${spec.label} ...`);
      const outDir = path.join(root, mode);
      fs.mkdirSync(outDir);
      const r = runChild(mode, model.file, path.join(outDir, 'model.onnx'));
      const seconds = (r.loadMs + r.passMs + r.saveMs) / 1000;
      rows.push({ ...r, label: spec.label, inputBytes: model.bytes, mbPerS: model.bytes / 1e6 / seconds, peakRatio: r.peakRss / model.bytes });
      fs.rmSync(outDir, { recursive: true, force: true });
    }
    return { params, inputBytes: model.bytes, rows };
  } finally {
    cleanup();
  }
}

function printMemory(m: { params: number; inputBytes: number; rows: MemoryRow[] }): void {
  console.log(`\nQuantizing a ${(m.params / 1e9).toFixed(2)} B-parameter model (${(m.inputBytes / 1e9).toFixed(2)} GB, external data)`);
  console.log('mode                              total s   pass s   MB/s   peak RSS   peak/model   output size');
  for (const r of m.rows) {
    const total = (r.loadMs + r.passMs + r.saveMs) / 1000;
    console.log(`${r.label.padEnd(34)}${total.toFixed(1).padStart(7)}  ${(r.passMs / 1000).toFixed(1).padStart(7)}  ${r.mbPerS.toFixed(0).padStart(5)}  ${(r.peakRss / 1e6).toFixed(0).padStart(6)} MB  ${r.peakRatio.toFixed(2).padStart(10)}  ${(r.outputBytes / 1e6).toFixed(0).padStart(8)} MB`);
  }
}

function printSpeed(rows: readonly SpeedRow[]): void {
  console.log('\nOutput speed, 12 blocks 768 <-> 3072, batch 1, interleaved (speedup = fp32 median / median)');
  console.log('tokens  variant                               median ms   speedup   p10-p90 of per-round ratios');
  for (const row of rows) {
    for (const v of row.variants) {
      console.log(`${String(row.tokens).padStart(6)}  ${v.name.padEnd(38)}${v.medianMs.toFixed(2).padStart(9)}  ${v.speedup.toFixed(2).padStart(7)}x   ${v.spread[0].toFixed(2)}-${v.spread[1].toFixed(2)}`);
    }
  }
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const say = (s: string) => { if (!f.json) process.stderr.write(`${s}\n`); };
  const memory = f.memory ? measureMemory(f, say) : undefined;
  say('measuring the speed of quantized outputs ...');
  const speed = f.speed ? await measureSpeed({ layers: 12, width: 768, inner: 3072 }, [128, 1], f.runs, f.threads, say) : undefined;
  if (f.json) {
    console.log(JSON.stringify({ memory, speed }, null, 2));
    return;
  }
  if (memory) printMemory(memory);
  if (speed) printSpeed(speed);
}

runMain(main);
