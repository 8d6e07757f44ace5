/**
 * Pruning benchmark, two parts:
 *  - memory and throughput: a generated decoder of about 1 B parameters with external data is pruned by
 *    magnitude (50 %) in a child process; peak resident memory against the model's size, MB/s of input;
 *  - speed of structured pruning: a LLaMA-shaped model (8 layers, hidden 1024, FFN 4096, GQA, RMSNorm,
 *    SwiGLU, random weights) and the shared llama-tiny, each against itself with 25 % of every FFN's
 *    channels removed, timed interleaved at batch 1 and 128 tokens with 2 intra-op threads.
 *
 *   npm run bench:prune -- [--params 1.05e9] [--hidden 2048] [--vocab 32000] [--sparsity 0.5] [--ffn-ratio 0.25]
 *                          [--runs 30] [--tokens 128] [--threads 2] [--skip-memory] [--skip-speed] [--dir FOLDER] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/io/load.js';
import { measurePruneMemory, type MemoryResult } from './prune/memory.js';
import { measurePrunedSpeed, type SpeedResult } from './prune/speed.js';
import { BENCH_LLAMA, buildBenchLlama, describeShape } from './prune/llama-model.js';
import { readFlags } from './lib/argv.js';
import { runMain } from './lib/run-main.js';

interface Flags {
  params: number; hidden: number; vocab: number; sparsity: number; ffnRatio: number;
  runs: number; tokens: number; threads: number; memory: boolean; speed: boolean; json: boolean; dir: string; tiny: string;
}

const USAGE = 'usage: npm run bench:prune -- [--params 1.05e9] [--hidden 2048] [--vocab 32000] [--sparsity 0.5] [--ffn-ratio 0.25] [--runs 30] [--tokens 128] [--threads 2] [--skip-memory] [--skip-speed] [--tiny-model FILE] [--dir FOLDER] [--json]';
/** dist/bench -> the project root -> ../shared/models. */
const TINY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/models/llama-tiny.onnx');

function parseFlags(argv: readonly string[]): Flags {
  const f: Flags = {
    params: 1.05e9, hidden: 2048, vocab: 32000, sparsity: 0.5, ffnRatio: 0.25, runs: 30, tokens: 128, threads: 2,
    memory: true, speed: true, json: false, dir: os.tmpdir(), tiny: TINY,
  };
  for (const { arg, value, positive: num, fraction } of readFlags(argv, USAGE)) {
    if (arg === '--params') f.params = num();
    else if (arg === '--hidden') f.hidden = Math.round(num());
    else if (arg === '--vocab') f.vocab = Math.round(num());
    else if (arg === '--sparsity') f.sparsity = fraction();
    else if (arg === '--ffn-ratio') f.ffnRatio = fraction();
    else if (arg === '--runs') f.runs = Math.round(num());
    else if (arg === '--tokens') f.tokens = Math.round(num());
    else if (arg === '--threads') f.threads = Math.round(num());
    else if (arg === '--skip-memory') f.memory = false;
    else if (arg === '--skip-speed') f.speed = false;
    else if (arg === '--tiny-model') f.tiny = value();
    else if (arg === '--dir') f.dir = value();
    else if (arg === '--json') f.json = true;
    else throw new Error(`unknown flag '${arg}'\n${USAGE}`);
  }
  return f;
}

async function measureSpeed(f: Flags, say: (s: string) => void): Promise<SpeedResult[]> {
  const settings = { tokens: f.tokens, runs: f.runs, threads: f.threads, ffnRatio: f.ffnRatio };
  say(`building the LLaMA-shaped model (${describeShape(BENCH_LLAMA)}) ...`);
  const rows = [await measurePrunedSpeed(`generated LLaMA (${BENCH_LLAMA.layers} x ${BENCH_LLAMA.hidden} / ${BENCH_LLAMA.ffn})`, buildBenchLlama(BENCH_LLAMA), settings)];
  if (fs.existsSync(f.tiny)) {
    say(`${path.basename(f.tiny)} ...`);
    rows.push(await measurePrunedSpeed(path.basename(f.tiny), loadModel(f.tiny), settings));
  } else say(`${f.tiny} not found: skipped`);
  return rows;
}

function printMemory(m: MemoryResult): void {
  const total = (m.loadMs + m.passMs + m.saveMs) / 1000;
  console.log(`\nMagnitude pruning at ${m.sparsity}: a ${(m.inputBytes / 4e9).toFixed(2)} B-parameter decoder (${(m.inputBytes / 1e9).toFixed(2)} GB, external data, ${m.shape.layers} layers, hidden ${m.shape.hidden})`);
  console.log(`  load ${(m.loadMs / 1000).toFixed(1)} s, pass ${(m.passMs / 1000).toFixed(1)} s, save ${(m.saveMs / 1000).toFixed(1)} s: ${total.toFixed(1)} s, ${m.mbPerS.toFixed(0)} MB/s`);
  console.log(`  weights pruned: ${(m.paramsPruned / 1e6).toFixed(0)} M of ${(m.paramsInLayers / 1e6).toFixed(0)} M in the pruned layers`);
  console.log(`  peak RSS ${(m.peakRss / 1e6).toFixed(0)} MB = ${m.peakRatio.toFixed(2)}x the model (after the pass, before saving: ${(m.peakRssAfterPass / 1e6).toFixed(0)} MB)`);
}

function printSpeed(rows: readonly SpeedResult[], f: Flags): void {
  console.log(`\nStructured pruning, ${f.ffnRatio * 100} % of FFN channels removed: batch 1, ${f.tokens} tokens, ${f.threads} threads, ${f.runs} interleaved rounds`);
  console.log('model                                    params before -> after     dense ms   pruned ms   speedup (p10-p90)   per-round p10-p90   fastest/fastest');
  for (const r of rows) {
    const params = `${(r.paramsBefore / 1e6).toFixed(1)} M -> ${(r.paramsAfter / 1e6).toFixed(1)} M`;
    const s = r.speedup;
    console.log(`${r.name.padEnd(41)}${params.padEnd(24)}${r.baselineMs.toFixed(2).padStart(10)}  ${r.modelMs.toFixed(2).padStart(10)}   ${s.value.toFixed(2)}x (${s.low.toFixed(2)}-${s.high.toFixed(2)})   ${r.rounds[0].toFixed(2)}-${r.rounds[1].toFixed(2)}           ${r.best.toFixed(2)}x`);
  }
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const say = (s: string) => { if (!f.json) process.stderr.write(`${s}\n`); };
  const memory = f.memory ? measurePruneMemory({ params: f.params, hidden: f.hidden, vocab: f.vocab, sparsity: f.sparsity, dir: f.dir }, say) : undefined;
  const speed = f.speed ? await measureSpeed(f, say) : undefined;
  if (f.json) {
    console.log(JSON.stringify({ memory, speed }, null, 2));
    return;
  }
  if (memory) printMemory(memory);
  if (speed) printSpeed(speed, f);
}

runMain(main);
