/**
 * Fusion benchmark on the shared tiny models: runs the `fuse` preset, then reports node counts, what was
 * fused, the largest logit difference on the evaluation data, and the latency of fused vs original (both at
 * onnxruntime's default optimisation level, `all`).
 *
 * Latency is measured in rounds within one process. In each round each model runs a block of back-to-back
 * inferences (the first two untimed, so that the other session's thread pool has gone idle, as it would for
 * a user running one model); the block order alternates between rounds. A round gives the ratio of the two
 * block medians; the figure is the median of those ratios, with their range, and the load average of the
 * machine before and after; the processor time per run of all threads is taken in the same blocks. The sum
 * over nodes of each node's fastest kernel time (onnxruntime's profiler, both sessions profiled in
 * alternation) is reported beside them: it leaves out most of the waiting a busy machine adds.
 *
 *   node dist/bench/fusion.js [--models llama,gpt2,bert] [--rows 32] [--rounds 9] [--iterations 12]
 *                             [--threads 2] [--seq 128] [--by-op] [--bound] [--json]
 *
 * --bound times a third model in the same rounds: the fused model with its elementwise work skipped
 * (bench/lib/elementwise-bound.ts), the ceiling of what exact rewrites around the same kernels can gain.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { fileURLToPath } from 'node:url';
import { modelToBytes } from '../src/io/save.js';
import { loadModel } from '../src/io/load.js';
import { cloneModel } from '../src/ir/clone.js';
import type { Model } from '../src/ir/model.js';
import { countNodes, runSteps } from '../src/pipeline/manager.js';
import { resolveSteps } from '../src/pipeline/registry.js';
import { quietContext } from '../src/pipeline/pass.js';
import { Session } from '../src/runtime/session.js';
import { readNpy } from '../src/runtime/npy.js';
import { compareTensors } from '../src/runtime/compare.js';
import type { HostTensor } from '../src/runtime/tensors.js';
import { DType } from '../src/ir/dtype.js';
import { elementwiseBound } from './lib/elementwise-bound.js';
import { readFlags } from './lib/argv.js';
import { runMain } from './lib/run-main.js';
import { median } from '../src/bench/stats.js';
import { rowsOf } from '../src/bench/data.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '../../../shared/models');
/** Untimed runs at the start of each block. */
const SETTLE_RUNS = 2;

interface Flags { models: string[]; rows: number; rounds: number; iterations: number; threads: number; seq: number; json: boolean; byOp: boolean; bound: boolean }

const USAGE = 'usage: node dist/bench/fusion.js [--models llama,gpt2,bert] [--rows 32] [--rounds 9] [--iterations 12] [--threads 2] [--seq 128] [--by-op] [--bound] [--json]';

function parse(argv: readonly string[]): Flags {
  const flags: Flags = { models: ['llama', 'gpt2', 'bert'], rows: 32, rounds: 9, iterations: 12, threads: 2, seq: 128, json: false, byOp: false, bound: false };
  for (const { arg, value, positive } of readFlags(argv, USAGE)) {
    const count = () => Math.max(1, Math.round(positive()));
    if (arg === '--models') flags.models = value().split(',').filter(Boolean);
    else if (arg === '--rows') flags.rows = count();
    else if (arg === '--rounds') flags.rounds = count();
    else if (arg === '--iterations') flags.iterations = count();
    else if (arg === '--threads') flags.threads = count();
    else if (arg === '--seq') flags.seq = count();
    else if (arg === '--json') flags.json = true;
    else if (arg === '--by-op') flags.byOp = true;
    else if (arg === '--bound') flags.bound = true;
    else throw new Error(`unknown flag '${arg}'\n${USAGE}`);
  }
  return flags;
}

/** The first `seq` tokens of row 0, repeated when the data rows are shorter. */
function tokens(t: HostTensor, seq: number): HostTensor {
  const row = (t.data as BigInt64Array).subarray(0, t.dims[1]!);
  return { dtype: t.dtype, dims: [1, seq], data: BigInt64Array.from({ length: seq }, (_, i) => row[i % row.length]!) };
}

function feedsFor(model: Model, ids: HostTensor): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const input of model.graph.inputs) {
    if (input.initializer) continue;
    feeds[input.name] = /mask/i.test(input.name) ? { dtype: DType.INT64, dims: ids.dims, data: new BigInt64Array(ids.dims[0]! * ids.dims[1]!).fill(1n) } : ids;
  }
  return feeds;
}

async function maxDiff(a: Session, b: Session, model: Model, ids: HostTensor, rows: number): Promise<number> {
  let worst = 0;
  for (let start = 0; start < rows; start += 8) {
    const feeds = feedsFor(model, rowsOf(ids, start, Math.min(8, rows - start)));
    const [x, y] = [await a.run(feeds), await b.run(feeds)];
    for (const name of Object.keys(x)) worst = Math.max(worst, compareTensors(name, x[name]!, y[name]!).maxAbs);
  }
  return worst;
}

interface BlockTimes { median: number; best: number; cpu: number }

/** Median and fastest wall time of one block of runs, and the median processor time of the process per run. */
async function block(session: Session, feeds: Record<string, HostTensor>, iterations: number): Promise<BlockTimes> {
  const times: number[] = [], cpu: number[] = [];
  for (let i = 0; i < SETTLE_RUNS + iterations; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await session.run(feeds);
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (i >= SETTLE_RUNS) { times.push(t); cpu.push((c.user + c.system) / 1000); }
  }
  return { median: median(times), best: Math.min(...times), cpu: median(cpu) };
}

interface Latency {
  msOriginal: number; msFused: number; speedup: number; roundSpeedups: number[];
  /** Fastest single run of each model over all rounds, and their ratio. */
  bestOriginal: number; bestFused: number; bestSpeedup: number;
  /** Processor time of all threads per run (median over rounds of the block medians), and the ratio. */
  cpuOriginal: number; cpuFused: number; cpuRatio: number;
  /** With --bound: the same for the elementwise-free copy of the fused model (see bench/lib/elementwise-bound). */
  bound?: { ms: number; speedup: number; roundSpeedups: number[] };
}

/**
 * Rounds of one block per session, the order rotating (alternating for two); per session the median of its
 * block medians, and the median of the per-round ratios of the first session's block to its own.
 */
async function latency(sessions: readonly Session[], feeds: Record<string, HostTensor>, flags: Flags): Promise<Latency> {
  const runs = sessions.map(() => ({ ms: [] as number[], ratios: [] as number[], cpu: [] as number[], best: Infinity }));
  for (let r = 0; r < flags.rounds; r++) {
    const times = new Array<BlockTimes>(sessions.length);
    for (let k = 0; k < sessions.length; k++) {
      const i = (r + k) % sessions.length;
      times[i] = await block(sessions[i]!, feeds, flags.iterations);
    }
    times.forEach((t, i) => {
      const run = runs[i]!;
      run.ms.push(t.median); run.cpu.push(t.cpu); run.ratios.push(times[0]!.median / t.median);
      run.best = Math.min(run.best, t.best);
    });
  }
  const [a, b, c] = runs;
  return {
    msOriginal: median(a!.ms), msFused: median(b!.ms), speedup: median(b!.ratios), roundSpeedups: b!.ratios,
    bestOriginal: a!.best, bestFused: b!.best, bestSpeedup: a!.best / b!.best,
    cpuOriginal: median(a!.cpu), cpuFused: median(b!.cpu), cpuRatio: median(a!.cpu) / median(b!.cpu),
    ...(c ? { bound: { ms: median(c.ms), speedup: median(c.ratios), roundSpeedups: c.ratios } } : {}),
  };
}

/**
 * Sum over nodes of each node's fastest kernel time (onnxruntime's profiler), in ms, for both models. The
 * sessions take turns, and which goes first alternates: the session run right after the other one is slowed
 * by the other's still-spinning thread pool. Same threads and optimisation level as the latency rounds.
 */
async function kernelMs(models: readonly Model[], feeds: Record<string, HostTensor>, runs: number, threads: number): Promise<KernelTime[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-fusion-profile-'));
  try {
    const sessions = await Promise.all(models.map((m, i) => ort.InferenceSession.create(modelToBytes(m), {
      intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: path.join(dir, `m${i}`),
    })));
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('int64', t.data as BigInt64Array, [...t.dims])]));
    for (let i = 0; i < runs; i++) for (const s of i % 2 ? [...sessions].reverse() : sessions) await s.run(ortFeeds);
    const times: KernelTime[] = [];
    for (const [i, s] of sessions.entries()) {
      s.endProfiling();
      await s.release();
      const file = fs.readdirSync(dir).find((f) => f.startsWith(`m${i}`));
      times.push(file ? fastestKernels(path.join(dir, file)) : { ms: NaN, byOp: {} });
    }
    return times;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface KernelTime {
  readonly ms: number;
  /** Per operator type (as onnxruntime runs it, after its own fusions): node count and summed ms. */
  readonly byOp: Record<string, { nodes: number; ms: number }>;
}

function fastestKernels(file: string): KernelTime {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat?: string; name?: string; dur?: number; args?: { op_name?: string } }[];
  const best = new Map<string, { op: string; us: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || e.dur === undefined) continue;
    const known = best.get(e.name);
    if (!known || e.dur < known.us) best.set(e.name, { op: e.args?.op_name ?? '?', us: e.dur });
  }
  const byOp: Record<string, { nodes: number; ms: number }> = {};
  let us = 0;
  for (const { op, us: t } of best.values()) {
    const entry = (byOp[op] ??= { nodes: 0, ms: 0 });
    entry.nodes++;
    entry.ms += t / 1000;
    us += t;
  }
  return { ms: us / 1000, byOp };
}

function printByOp(original: KernelTime, fused: KernelTime): void {
  const ops = [...new Set([...Object.keys(original.byOp), ...Object.keys(fused.byOp)])]
    .sort((a, b) => Math.max(original.byOp[b]?.ms ?? 0, fused.byOp[b]?.ms ?? 0) - Math.max(original.byOp[a]?.ms ?? 0, fused.byOp[a]?.ms ?? 0));
  const cell = (t: KernelTime, op: string) => {
    const e = t.byOp[op];
    return e ? `${e.ms.toFixed(2)} ms (${e.nodes})`.padStart(16) : '-'.padStart(16);
  };
  console.log(`    ${'operator'.padEnd(28)}${'original'.padStart(16)}${'fused'.padStart(16)}`);
  for (const op of ops) console.log(`    ${op.padEnd(28)}${cell(original, op)}${cell(fused, op)}`);
}

async function benchOne(name: string, flags: Flags) {
  const original = loadModel(path.join(MODELS, `${name}-tiny.onnx`));
  const fused = cloneModel(original);
  const reports = await runSteps(fused, resolveSteps(['preset:fuse']), quietContext());
  const fusedOps: Record<string, number> = {};
  for (const n of fused.graph.nodes) if (n.domain === 'com.microsoft' || /Normalization|Attention|Gelu|Rotary/.test(n.opType)) fusedOps[n.opType] = (fusedOps[n.opType] ?? 0) + 1;
  const ids = readNpy(path.join(MODELS, name === 'bert' ? 'mlm_eval_inputs.npy' : 'eval_ids.npy'));
  const options = { threads: flags.threads, optimization: 'all' as const };
  const [a, b] = [await Session.fromModel(original, options), await Session.fromModel(fused, options)];
  const bound = flags.bound ? await elementwiseBound(fused) : undefined;
  const c = bound ? await Session.fromModel(bound.model, options) : undefined;
  try {
    const maxAbs = await maxDiff(a, b, original, ids, Math.min(flags.rows, ids.dims[0]!));
    const feeds = feedsFor(original, tokens(ids, flags.seq));
    const loadBefore = os.loadavg()[0]!;
    const t = await latency(c ? [a, b, c] : [a, b], feeds, flags);
    const loadAfter = os.loadavg()[0]!;
    const [kernelA, kernelB] = await kernelMs([original, fused], feeds, Math.max(20, Math.round((flags.rounds * flags.iterations) / 2)), flags.threads);
    return {
      model: name, nodesBefore: countNodes(original), nodesAfter: countNodes(fused), fusedOps, maxAbs,
      seq: flags.seq, threads: flags.threads, rounds: flags.rounds, iterations: flags.iterations,
      ...t, kernelOriginal: kernelA!.ms, kernelFused: kernelB!.ms, kernelSpeedup: kernelA!.ms / kernelB!.ms,
      kernelByOp: { original: kernelA!.byOp, fused: kernelB!.byOp },
      loadBefore, loadAfter, cores: os.cpus().length, passMs: reports.reduce((s, r) => s + r.ms, 0),
      ...(bound ? { boundSkipped: bound.skipped, boundNodes: countNodes(bound.model) } : {}),
    };
  } finally {
    await a.release();
    await b.release();
    await c?.release();
  }
}

async function main(): Promise<void> {
  const flags = parse(process.argv.slice(2));
  const results = [];
  for (const name of flags.models) {
    const r = await benchOne(name, flags);
    results.push(r);
    if (flags.json) continue;
    const reduction = (100 * (1 - r.nodesAfter / r.nodesBefore)).toFixed(1);
    const range = `${Math.min(...r.roundSpeedups).toFixed(2)}-${Math.max(...r.roundSpeedups).toFixed(2)}`;
    console.log(`${r.model}: nodes ${r.nodesBefore} -> ${r.nodesAfter} (-${reduction} %), fused ${JSON.stringify(r.fusedOps)}`);
    console.log(`  max abs logit diff on ${flags.rows} eval rows: ${r.maxAbs.toExponential(2)}; passes ${r.passMs.toFixed(0)} ms`);
    console.log(`  ${r.seq} tokens, ${r.threads} threads, ${r.rounds} rounds of ${r.iterations}: original ${r.msOriginal.toFixed(2)} ms, fused ${r.msFused.toFixed(2)} ms, speedup ${r.speedup.toFixed(2)}x (rounds ${range}); load ${r.loadBefore.toFixed(1)} -> ${r.loadAfter.toFixed(1)} on ${r.cores} cores`);
    console.log(`  fastest run: original ${r.bestOriginal.toFixed(2)} ms, fused ${r.bestFused.toFixed(2)} ms, ${r.bestSpeedup.toFixed(2)}x`);
    console.log(`  processor time per run (all threads): original ${r.cpuOriginal.toFixed(2)} ms, fused ${r.cpuFused.toFixed(2)} ms, ${r.cpuRatio.toFixed(2)}x`);
    console.log(`  kernel time (sum of per-node fastest): original ${r.kernelOriginal.toFixed(2)} ms, fused ${r.kernelFused.toFixed(2)} ms, ${r.kernelSpeedup.toFixed(2)}x`);
    if (r.bound) {
      const boundRange = `${Math.min(...r.bound.roundSpeedups).toFixed(2)}-${Math.max(...r.bound.roundSpeedups).toFixed(2)}`;
      console.log(`  bound (fused with ${r.boundSkipped} norm/activation/elementwise nodes skipped, ${r.boundNodes} nodes): ${r.bound.ms.toFixed(2)} ms, ${r.bound.speedup.toFixed(2)}x the original (rounds ${boundRange})`);
    }
    if (flags.byOp) printByOp({ ms: r.kernelOriginal, byOp: r.kernelByOp.original }, { ms: r.kernelFused, byOp: r.kernelByOp.fused });
  }
  if (flags.json) console.log(JSON.stringify(results, null, 2));
}

runMain(main);
