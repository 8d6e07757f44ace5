/**
 * Fusion benchmark on the shared tiny models: runs the `fuse` preset, then reports node counts, what was
 * fused, the largest logit difference on the evaluation data, and the latency of fused vs original at
 * 128 tokens (batch 1, 2 threads), measured interleaved in one process (the machines are noisy), plus the
 * sum of per-node fastest kernel times from onnxruntime's profiler (robust to a busy machine).
 *
 *   node dist/bench/fusion.js [--models llama,gpt2,bert] [--rows 32] [--iterations 30] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { modelToBytes } from '../src/io/save.js';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/io/load.js';
import { cloneModel } from '../src/ir/clone.js';
import type { Model } from '../src/ir/model.js';
import { countNodes, runSteps, type ResolvedStep } from '../src/pipeline/manager.js';
import { quietContext, type Pass } from '../src/pipeline/pass.js';
import { Session } from '../src/runtime/session.js';
import { readNpy } from '../src/runtime/npy.js';
import { compareTensors } from '../src/runtime/compare.js';
import type { HostTensor } from '../src/runtime/tensors.js';
import { DType } from '../src/ir/dtype.js';
import { fusionPasses, fuseSteps } from '../passes/fusion/index.js';
import removeIdentity from '../passes/cleanup/remove-identity.js';
import removeDeadNodes from '../passes/cleanup/remove-dead-nodes.js';
import removeUnusedInitializers from '../passes/cleanup/remove-unused-initializers.js';
import dedupeInitializers from '../passes/cleanup/dedupe-initializers.js';
import sortTopologically from '../passes/cleanup/sort-topologically.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '../../../shared/models');

interface Flags { models: string[]; rows: number; iterations: number; json: boolean }

function parse(argv: readonly string[]): Flags {
  const flags: Flags = { models: ['llama', 'gpt2', 'bert'], rows: 32, iterations: 30, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--models') flags.models = argv[++i]!.split(',');
    else if (a === '--rows') flags.rows = Number(argv[++i]);
    else if (a === '--iterations') flags.iterations = Number(argv[++i]);
    else if (a === '--json') flags.json = true;
    else throw new Error(`unknown flag '${a}'`);
  }
  return flags;
}

/** The preset's steps, resolved without the registry (only this benchmark's passes are loaded). */
function steps(): ResolvedStep[] {
  const all = new Map<string, Pass>([...fusionPasses, removeIdentity, removeDeadNodes, removeUnusedInitializers, dedupeInitializers, sortTopologically].map((p) => [p.name, p as Pass]));
  return fuseSteps.map((s) => { const pass = all.get(s.pass)!; return { pass, options: pass.options.parse(s.options ?? {}) }; });
}

function rowsOf(t: HostTensor, start: number, count: number): HostTensor {
  const seq = t.dims[1]!;
  return { dtype: t.dtype, dims: [count, seq], data: (t.data as BigInt64Array).subarray(start * seq, (start + count) * seq) };
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

/** Median and fastest run of each session, interleaved (the order alternates so neither always runs first). */
async function latency(a: Session, b: Session, model: Model, ids: HostTensor, iterations: number): Promise<{ median: [number, number]; best: [number, number] }> {
  const feeds = feedsFor(model, rowsOf(ids, 0, 1));
  for (let i = 0; i < 3; i++) { await a.run(feeds); await b.run(feeds); }
  const ta: number[] = [], tb: number[] = [];
  for (let i = 0; i < iterations; i++) {
    for (const [s, out] of (i % 2 ? [[b, tb], [a, ta]] : [[a, ta], [b, tb]]) as [Session, number[]][]) {
      const t0 = performance.now();
      await s.run(feeds);
      out.push(performance.now() - t0);
    }
  }
  const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  return { median: [median(ta), median(tb)], best: [Math.min(...ta), Math.min(...tb)] };
}

/**
 * Sum over nodes of each node's fastest kernel time (onnxruntime's profiler), in ms: the run time without
 * the waits a busy machine adds between kernels. Same feeds, threads and optimisation level as above.
 */
async function kernelMs(model: Model, ids: HostTensor, runs: number): Promise<number> {
  const prefix = path.join(os.tmpdir(), `llmopt-fusion-profile-${process.pid}-${Math.floor(performance.now())}`);
  const session = await ort.InferenceSession.create(modelToBytes(model), {
    intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix,
  });
  const feeds = Object.fromEntries(Object.entries(feedsFor(model, rowsOf(ids, 0, 1))).map(([k, t]) => [k, new ort.Tensor('int64', t.data as BigInt64Array, [...t.dims])]));
  for (let i = 0; i < runs; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = fs.readdirSync(path.dirname(prefix)).map((f) => path.join(path.dirname(prefix), f)).find((f) => f.startsWith(prefix));
  if (!file) return NaN;
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat?: string; name?: string; dur?: number }[];
  fs.rmSync(file, { force: true });
  const best = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || e.dur === undefined) continue;
    best.set(e.name, Math.min(best.get(e.name) ?? Infinity, e.dur));
  }
  return [...best.values()].reduce((a, b) => a + b, 0) / 1000;
}

async function benchOne(name: string, flags: Flags) {
  const original = loadModel(path.join(MODELS, `${name}-tiny.onnx`));
  const fused = cloneModel(original);
  const reports = await runSteps(fused, steps(), quietContext());
  const fusedOps: Record<string, number> = {};
  for (const n of fused.graph.nodes) if (n.domain === 'com.microsoft' || /Normalization|Attention|Gelu|Rotary/.test(n.opType)) fusedOps[n.opType] = (fusedOps[n.opType] ?? 0) + 1;
  const ids = readNpy(path.join(MODELS, name === 'bert' ? 'mlm_eval_inputs.npy' : 'eval_ids.npy'));
  const options = { threads: 2, optimization: 'all' as const };
  const [a, b] = [await Session.fromModel(original, options), await Session.fromModel(fused, options)];
  try {
    const maxAbs = await maxDiff(a, b, original, ids, Math.min(flags.rows, ids.dims[0]!));
    const t = await latency(a, b, original, ids, flags.iterations);
    const [kernelOriginal, kernelFused] = [await kernelMs(original, ids, flags.iterations), await kernelMs(fused, ids, flags.iterations)];
    return {
      model: name, nodesBefore: countNodes(original), nodesAfter: countNodes(fused), fusedOps, maxAbs,
      msOriginal: t.median[0], msFused: t.median[1], speedup: t.median[0] / t.median[1],
      bestOriginal: t.best[0], bestFused: t.best[1], bestSpeedup: t.best[0] / t.best[1],
      kernelOriginal, kernelFused, kernelSpeedup: kernelOriginal / kernelFused,
      passMs: reports.reduce((s, r) => s + r.ms, 0),
    };
  } finally {
    await a.release();
    await b.release();
  }
}

async function main(): Promise<void> {
  const flags = parse(process.argv.slice(2));
  const results = [];
  for (const name of flags.models) {
    const r = await benchOne(name, flags);
    results.push(r);
    if (!flags.json) {
      const reduction = (100 * (1 - r.nodesAfter / r.nodesBefore)).toFixed(1);
      console.log(`${r.model}: nodes ${r.nodesBefore} -> ${r.nodesAfter} (-${reduction} %), fused ${JSON.stringify(r.fusedOps)}`);
      console.log(`  max abs logit diff on ${flags.rows} eval rows: ${r.maxAbs.toExponential(2)}; passes ${r.passMs.toFixed(0)} ms`);
      console.log(`  128 tokens, 2 threads, median: original ${r.msOriginal.toFixed(2)} ms, fused ${r.msFused.toFixed(2)} ms, ${r.speedup.toFixed(2)}x; fastest: ${r.bestOriginal.toFixed(2)} / ${r.bestFused.toFixed(2)} ms, ${r.bestSpeedup.toFixed(2)}x`);
      console.log(`  kernel time (sum of per-node fastest): original ${r.kernelOriginal.toFixed(2)} ms, fused ${r.kernelFused.toFixed(2)} ms, ${r.kernelSpeedup.toFixed(2)}x`);
    }
  }
  if (flags.json) console.log(JSON.stringify(results, null, 2));
}

await main();
