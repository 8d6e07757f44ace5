/**
 * The pruning engine shared by the passes: selects layers, plans the stages, collects calibration
 * statistics stage by stage, lets the method choose the pruned weights in `schedule` steps (refitting the
 * kept ones between steps when calibrated and `reconstruct` is on), and writes the weights back.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import type { PassContext, PassResult } from '../../../src/pipeline/pass.js';
import { patternSparsity, pruneCount, rampPattern } from '../../../src/math/sparsity.js';
import { ConfigError } from '../../../src/errors.js';
import { targetOf, type PruneOptions, type SparsityTarget } from './options.js';
import { readBias, readColumns, writeBias, writeColumns, type PrunableLayer } from './layers.js';
import { selectLayers } from './select.js';
import { planStages, type LayerGroup } from './stages.js';
import { collectStatistics, type InputStatistics } from './statistics.js';
import { reconstructLayer, type BiasPair } from './reconstruct.js';
import { ProductFactory } from './products.js';
import { correctTowardsDense } from './correct.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { allocateGlobal } from './allocate.js';
import { embeddingTables, pruneTable } from './embeddings.js';
import type { LayerState, PruneMethod, StepTarget } from './method.js';

interface Needs { readonly gram: boolean; readonly squares: boolean; readonly sums: boolean; readonly cross: boolean }

interface Run {
  readonly model: Model;
  readonly method: PruneMethod;
  readonly o: PruneOptions;
  readonly ctx: PassContext;
  readonly pass: string;
  readonly data: Dataset | undefined;
  /** The model before pruning, for error correction. */
  readonly dense: Model | undefined;
  readonly products: ProductFactory;
  runs: number;
}

export async function runPruning(model: Model, method: PruneMethod, o: PruneOptions, ctx: PassContext, pass: string): Promise<PassResult> {
  const data = ctx.calibration;
  if ((method.needs.gram || method.needs.squares) && !data) throw new ConfigError(`${pass} needs calibration data (--calib)`);
  const target = targetOf(o);
  const selection = selectLayers(model, o, pass, ctx);
  const reconstruct = o.reconstruct && data !== undefined;
  const gram = method.needs.gram || reconstruct;
  const sequential = o.sequential && data !== undefined && (gram || method.needs.squares);
  const cross = o.correct && sequential && gram;
  const needs: Needs = { gram, squares: method.needs.squares && !gram, sums: reconstruct || cross, cross };
  const run: Run = { model, method, o, ctx, pass, data, dense: cross ? cloneModel(model) : undefined, products: new ProductFactory(), runs: 0 };
  const counts = target.kind === 'fraction' && o.scope === 'global'
    ? await globalCounts(run, selection.layers, target.sparsity)
    : new Map(selection.layers.map((l) => [l, target.kind === 'fraction' ? pruneCount(l.k * l.n, target.sparsity) : 0]));
  const stages = planStages(selection.layers, sequential);
  let pruned = 0;
  let params = 0;
  let done = 0;
  let changed = 0;
  try {
    for (const [i, stage] of stages.entries()) {
      // The first stage has nothing pruned upstream: its inputs are the dense ones.
      const stats = await statisticsFor(run, stage, { ...needs, cross: needs.cross && i > 0 }, `stage ${i + 1}/${stages.length}`);
      for (const group of stage) {
        for (const layer of group.layers) {
          const outcome = await pruneLayer(run, layer, stats.get(group.input.name), target, counts.get(layer)!, reconstruct, needs.cross);
          pruned += outcome.pruned;
          if (outcome.changed) changed++;
          params += layer.k * layer.n;
          ctx.progress(`${pass}: ${++done}/${selection.layers.length} layers`);
        }
      }
    }
  } finally {
    await run.products.release();
  }
  const embeddings = o.includeEmbeddings ? pruneEmbeddings(run, target) : { tables: 0, pruned: 0 };
  return {
    modified: changed > 0 || embeddings.pruned > 0,
    stats: {
      layersPruned: selection.layers.length, layersChanged: changed, layersSkipped: selection.skipped, headLayersKept: selection.heads,
      paramsInLayers: params, paramsPruned: pruned, embeddingTables: embeddings.tables, embeddingParamsPruned: embeddings.pruned,
      calibrationRuns: run.runs, layersReconstructed: reconstruct ? selection.layers.length : 0,
    },
  };
}

async function statisticsFor(run: Run, groups: readonly LayerGroup[], needs: Needs, label: string): Promise<Map<string, InputStatistics>> {
  if (!run.data || !(needs.gram || needs.squares)) return new Map();
  run.runs++;
  const requests = groups.map((g) => ({
    value: g.input.name, k: g.layers[0]!.k, gram: needs.gram, squares: needs.squares, sums: needs.sums && g.layers.some((l) => l.biasTerm),
    cross: needs.cross,
  }));
  return collectStatistics(run.model, requests, run.data, run.dense, (d, t) => run.ctx.progress(`${run.pass}: calibration ${label}, ${d}/${t} rows`));
}

async function globalCounts(run: Run, layers: readonly PrunableLayer[], sparsity: number): Promise<Map<PrunableLayer, number>> {
  const groups = planStages(layers, false)[0] ?? [];
  const stats = await statisticsFor(run, groups, { ...run.method.needs, sums: false, cross: false }, 'dense model');
  const states = groups.flatMap((g) => g.layers.map((l) => stateOf(l, stats.get(g.input.name))));
  return allocateGlobal(states, run.method, sparsity);
}

function stateOf(layer: PrunableLayer, stats: InputStatistics | undefined): LayerState {
  const dense = readColumns(layer);
  return { layer, k: layer.k, columns: layer.n, dense, weights: Float64Array.from(dense), mask: new Uint8Array(dense.length), stats };
}

/** Prunes one layer in `schedule` steps: how many of its weights are pruned, whether anything changed. */
async function pruneLayer(
  run: Run, layer: PrunableLayer, stats: InputStatistics | undefined, target: SparsityTarget, count: number, reconstruct: boolean, correct: boolean,
): Promise<{ pruned: number; changed: boolean }> {
  // Nothing to prune (sparsity 0, or N:M with N = M): the layer stays exactly as it is.
  if (target.kind === 'pattern' ? target.pattern.n >= target.pattern.m : count === 0) return { pruned: 0, changed: false };
  const state = stateOf(layer, stats);
  const original = Float64Array.from(state.dense);
  const denseBias = reconstruct || correct ? readBias(layer) : undefined;
  const originalBias = denseBias && Float64Array.from(denseBias);
  const bias: BiasPair | undefined = denseBias && { dense: denseBias, current: Float64Array.from(denseBias) };
  if (correct) await correctTowardsDense(state, bias, run.o.ridge, run.products);
  const steps = run.o.schedule;
  for (let t = 1; t <= steps; t++) {
    const step: StepTarget = target.kind === 'pattern'
      ? { kind: 'pattern', pattern: rampPattern(target.pattern, t, steps) }
      : { kind: 'count', total: Math.round((count * t) / steps) };
    run.method.step(state, step);
    if (reconstruct) await reconstructLayer(state, bias, run.o, run.products);
  }
  const weightsChanged = !sameValues(state.weights, original);
  const biasChanged = bias !== undefined && !sameValues(bias.current, originalBias!);
  if (weightsChanged) writeColumns(layer, state.weights);
  if (biasChanged) writeBias(layer, bias.current);
  let pruned = 0;
  for (const m of state.mask) pruned += m;
  return { pruned, changed: weightsChanged || biasChanged };
}

function pruneEmbeddings(run: Run, target: SparsityTarget): { tables: number; pruned: number } {
  const sparsity = target.kind === 'pattern' ? patternSparsity(target.pattern) : target.sparsity;
  const tables = embeddingTables(run.model, run.o.exclude, run.pass, run.ctx);
  let pruned = 0;
  for (const t of tables) pruned += pruneTable(t, sparsity);
  return { tables: tables.length, pruned };
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (Math.fround(a[i]!) !== Math.fround(b[i]!)) return false;
  return true;
}
