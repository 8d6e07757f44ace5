/**
 * What structured pruning did, read back from both models rather than taken from the pass: per transformer
 * block the attention heads and FFN channels before and after, its weights before and after (the tensors
 * shrink, so blocks are paired by position among the kept blocks, never by tensor shape), the relative error
 * of its output and of the logits against the dense model on data; and the checks that refuse a request the
 * model cannot satisfy before anything runs.
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';
import { detectTransformer, type TransformerBlock } from '../analysis/transformer.js';
import { countParameters } from '../analysis/parameters.js';
import type { Dataset } from '../data/dataset.js';
import { measureLayerErrors } from '../eval/layer-error.js';
import { ConfigError } from '../errors.js';
import { headsProblem, layersProblem } from '../../passes/prune/structured/request.js';

/** The structural part of a request, as the pass's options hold it. */
export interface ShrinkRequest {
  readonly heads: number;
  readonly ffnRatio: number;
  readonly layers: readonly number[];
}

export interface BlockShrink {
  /** Index of the block in the dense model. */
  readonly block: number;
  readonly removed: boolean;
  readonly headsBefore: number | undefined;
  readonly headsAfter: number | undefined;
  readonly channelsBefore: number | undefined;
  readonly channelsAfter: number | undefined;
  /** Float weights read by the block's nodes. */
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  /** ‖y_pruned − y_dense‖ / ‖y_dense‖ of the block's output (the residual stream leaving it), when measured. */
  readonly relativeError: number | undefined;
}

export interface ShrinkMeasure {
  /** Empty when the output's blocks could not be paired with the kept blocks of the input. */
  readonly blocks: readonly BlockShrink[];
  readonly paired: boolean;
  /** Every constant tensor of each model (analysis/parameters.ts). */
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  /** The first graph output (logits) against the dense model, when measured. */
  readonly outputError: { readonly value: string; readonly relativeError: number } | undefined;
  /** Rows of data the errors were measured on. */
  readonly rows: number | undefined;
}

/** Refuses, with one line, what the model cannot give: unknown blocks, head counts that split a group. */
export function checkShrinkRequest(model: Model, r: ShrinkRequest): void {
  const blocks = detectTransformer(model).blocks;
  if (!blocks.length) throw new ConfigError('--method structured: no transformer blocks found in the model');
  const layers = layersProblem(r.layers, blocks.length);
  if (layers) throw new ConfigError(`--layers ${layers.layers.join(',')}: ${layers.problem}`);
  if (r.heads > 0) for (const b of blocks) if (!r.layers.includes(b.index)) checkHeads(b, r.heads);
}

function checkHeads(b: TransformerBlock, request: number): void {
  const a = b.attention[0];
  if (b.attention.length !== 1 || !a?.heads || !a.kvHeads) return; // the pass explains the blocks it leaves alone
  const problem = headsProblem({ index: b.index, heads: a.heads, kvHeads: a.kvHeads }, request);
  if (problem) throw new ConfigError(`--heads ${request}: ${problem}`);
}

/** Per block and in total, from both models; errors on `data` (a few rows) when given. */
export async function measureShrink(dense: Model, pruned: Model, removed: readonly number[], data: Dataset | undefined): Promise<ShrinkMeasure> {
  const before = detectTransformer(dense).blocks;
  const after = detectTransformer(pruned).blocks;
  const kept = before.filter((b) => !removed.includes(b.index));
  if (kept.length !== after.length) return { ...(await totals(dense, pruned, data)), blocks: [], paired: false };
  const paired = new Map(kept.map((b, i) => [b, after[i]!]));
  const outputs = new Map<TransformerBlock, string>();
  for (const [b, p] of paired) {
    const out = blockOutput(p);
    if (out && out === blockOutput(b)) outputs.set(b, out);
  }
  const logits = pruned.graph.outputs[0]?.name;
  const errors = data ? await measureLayerErrors(dense, pruned, data, [...outputs.values(), ...(logits ? [logits] : [])]) : [];
  const errorOf = new Map(errors.map((e) => [e.value, e.relativeError]));
  const blocks = before.map((b): BlockShrink => {
    const p = paired.get(b);
    const out = outputs.get(b);
    return {
      block: b.index, removed: removed.includes(b.index),
      headsBefore: headsOf(b), headsAfter: p ? headsOf(p, b) : 0,
      channelsBefore: channelsOf(b), channelsAfter: p ? channelsOf(p) : 0,
      paramsBefore: blockWeights(b), paramsAfter: p ? blockWeights(p) : 0,
      relativeError: out === undefined ? undefined : errorOf.get(out),
    };
  });
  const outputError = logits !== undefined && errorOf.has(logits) ? { value: logits, relativeError: errorOf.get(logits)! } : undefined;
  return { blocks, paired: true, ...counts(dense, pruned, data), outputError };
}

function counts(dense: Model, pruned: Model, data: Dataset | undefined): Pick<ShrinkMeasure, 'paramsBefore' | 'paramsAfter' | 'rows'> {
  return { paramsBefore: countParameters(dense).total, paramsAfter: countParameters(pruned).total, rows: data ? Math.min(8, data.rows) : undefined };
}

/** Totals and the logits error only. */
async function totals(dense: Model, pruned: Model, data: Dataset | undefined): Promise<Omit<ShrinkMeasure, 'blocks' | 'paired'>> {
  const logits = pruned.graph.outputs[0]?.name;
  const [error] = data && logits ? await measureLayerErrors(dense, pruned, data, [logits]) : [];
  return { ...counts(dense, pruned, data), outputError: error && { value: error.value, relativeError: error.relativeError } };
}

/** Query heads: as detected, else the query projection's width over the dense block's head size. */
function headsOf(b: TransformerBlock, dense?: TransformerBlock): number | undefined {
  const a = b.attention[0];
  if (!a) return undefined;
  if (a.heads) return a.heads;
  const d = dense?.attention[0]?.headDim;
  const q = a.q[0];
  const fused = q !== undefined && q === a.k[0];
  return d && q?.n && !fused ? q.n / d : undefined;
}

/** FFN channels: as detected, else the down projection's input width. */
function channelsOf(b: TransformerBlock): number | undefined {
  return b.mlp?.width ?? b.mlp?.down[0]?.k;
}

/** The residual stream value leaving the block. */
function blockOutput(b: TransformerBlock): string | undefined {
  const last = b.sublayers.at(-1);
  const out: Value | undefined = last?.placement === 'post' ? last.norm?.output : last?.join?.output;
  return out?.name;
}

/** Float weights read by the block's nodes, each tensor counted once. */
function blockWeights(b: TransformerBlock): number {
  const seen = new Set<Value>();
  for (const node of b.nodes) {
    for (const v of node.inputs) if (v?.initializer && v.initializer.dtype === DType.FLOAT) seen.add(v);
  }
  let n = 0;
  for (const v of seen) n += v.initializer!.elementCount;
  return n;
}

/** The structural part of prune-structured's options (defaults where absent). */
export function shrinkRequestOf(options: Readonly<Record<string, unknown>>): ShrinkRequest {
  const heads = typeof options.heads === 'number' ? options.heads : 0;
  const ffnRatio = typeof options.ffnRatio === 'number' ? options.ffnRatio : 0;
  const layers = Array.isArray(options.layers) ? options.layers.filter((x): x is number => typeof x === 'number') : [];
  return { heads, ffnRatio, layers };
}
