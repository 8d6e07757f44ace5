/**
 * Overhead of the `llmopt bench` runner over a bare onnxruntime-node loop on the same model and inputs.
 * Rounds alternate (bare first, then runner first, …): a bare round awaits InferenceSession.run on
 * pre-built tensors N times; a runner round is timeInterleaved (per-run timing, runtime Session feeds
 * conversion, progress callback) with a MemoryProbe sampling, as the command runs it. Prints the ratio
 * of wall time per run (runner / bare): the median over rounds with p10–p90, over all rounds together,
 * and of the fastest rounds (the least disturbed on a busy machine); and the runner's own bookkeeping
 * between timed calls.
 *
 *   node dist/bench/overhead.js [model.onnx] [--runs 200] [--rounds 15] [--batch 1] [--seq 32] [--threads N]
 */
import ort from 'onnxruntime-node';
import { loadModel } from '../src/io/load.js';
import { describeIo } from '../src/bench/model-io.js';
import { rowFeeds } from '../src/bench/first-runs.js';
import { openSession } from '../src/bench/open.js';
import { timeInterleaved } from '../src/bench/latency.js';
import { MemoryProbe } from '../src/bench/memory.js';
import { ascending, quantile } from '../src/bench/stats.js';
import { toOrt } from '../src/runtime/tensors.js';
import { runMain } from './lib/run-main.js';

interface Flags { model: string; runs: number; rounds: number; batch: number; seq: number; threads: number }

function parse(argv: readonly string[]): Flags {
  const flags: Flags = { model: 'fixtures/models/tiny-llama.onnx', runs: 200, rounds: 15, batch: 1, seq: 32, threads: 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const key = arg.replace(/^--/, '') as keyof Flags;
    if (!arg.startsWith('--')) flags.model = arg;
    else if (key !== 'model' && key in flags) flags[key] = Number(argv[++i]);
    else throw new Error(`unknown flag '${arg}' (usage: node dist/bench/overhead.js [model.onnx] [--runs N] [--rounds K] [--batch B] [--seq S] [--threads N])`);
  }
  return flags;
}

async function main(): Promise<void> {
  const f = parse(process.argv.slice(2));
  const io = describeIo(loadModel(f.model));
  const feeds = rowFeeds(io, { batch: f.batch, seq: f.seq }, io.vocab, 0);
  const threads = f.threads > 0 ? { intraOpNumThreads: f.threads, interOpNumThreads: 1 } : {};
  const bare = await ort.InferenceSession.create(f.model, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, ...threads });
  const bareFeeds = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrt(t, name)]));
  const { session } = await openSession(f.model, { ep: 'cpu', threads: f.threads > 0 ? f.threads : undefined });
  const bareRound = async () => {
    const t0 = performance.now();
    for (let i = 0; i < f.runs; i++) await bare.run(bareFeeds);
    return (performance.now() - t0) / f.runs;
  };
  let status = '';
  const runnerRound = async () => {
    const probe = new MemoryProbe();
    probe.begin();
    const t0 = performance.now();
    const [samples] = await timeInterleaved([{ session, feeds }], { warmup: 0, runs: f.runs }, (n) => { status = `${n} runs`; });
    const wall = (performance.now() - t0) / f.runs;
    probe.end();
    return { wall, outside: wall - samples!.reduce((a, b) => a + b, 0) / f.runs };
  };
  await bareRound();
  await runnerRound();
  const ratios: number[] = [];
  const bares: number[] = [];
  const walls: number[] = [];
  const outside: number[] = [];
  for (let r = 0; r < f.rounds; r++) {
    let b = 0;
    let w = { wall: 0, outside: 0 };
    if (r % 2 === 0) { b = await bareRound(); w = await runnerRound(); } else { w = await runnerRound(); b = await bareRound(); }
    ratios.push(w.wall / b);
    bares.push(b);
    walls.push(w.wall);
    outside.push(w.outside);
  }
  const q = (xs: number[], p: number) => quantile(ascending(xs), p);
  const pct = (x: number) => `${((x - 1) * 100).toFixed(2)} %`;
  process.stdout.write([
    `model ${f.model}, batch ${f.batch} × seq ${f.seq}, ${f.threads || 'default'} threads, ${f.rounds} rounds of ${f.runs} runs each way (last progress: ${status})`,
    `bare loop: ${q(bares, 0.5).toFixed(4)} ms per run (median round), fastest round ${Math.min(...bares).toFixed(4)} ms`,
    `runner / bare, wall time per run: median ${q(ratios, 0.5).toFixed(4)} (overhead ${pct(q(ratios, 0.5))}), p10–p90 ${q(ratios, 0.1).toFixed(4)}–${q(ratios, 0.9).toFixed(4)}`,
    `runner / bare, all rounds together: ${(walls.reduce((a, b) => a + b, 0) / bares.reduce((a, b) => a + b, 0)).toFixed(4)}`,
    `runner / bare, fastest rounds: ${(Math.min(...walls) / Math.min(...bares)).toFixed(4)} (overhead ${pct(Math.min(...walls) / Math.min(...bares))})`,
    `runner time between timed calls: ${(q(outside, 0.5) * 1000).toFixed(1)} µs per run (median round)`,
    '',
  ].join('\n'));
  await bare.release();
  await session.release();
}

runMain(main);
