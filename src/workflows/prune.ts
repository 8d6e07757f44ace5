/**
 * The prune workflow behind `llmopt prune`: one method's pass on a copy of the model, then what the output
 * holds, read back from its weights rather than taken from the pass: per layer the non-zeros before and
 * after, the N:M check and the relative error of the layer's output against the dense model on calibration
 * data; and the size of both files once compressed (zeros are what a sparse model saves on disk and on the
 * wire until a runtime stores it sparsely).
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Model } from '../ir/model.js';
import { cloneModel } from '../ir/clone.js';
import { DType } from '../ir/dtype.js';
import { runSteps, type StepReport } from '../pipeline/manager.js';
import { resolveSteps } from '../pipeline/registry.js';
import type { PassContext } from '../pipeline/pass.js';
import type { Dataset } from '../data/dataset.js';
import { measureLayerErrors } from '../eval/layer-error.js';
import { countNmViolations, countZeros, type NmPattern } from '../math/sparsity.js';
import { findPrunableLayers } from '../../passes/prune/engine/layers.js';

/**
 * `--method` -> the pass that implements it, whether it needs calibration data, and whether it prunes to a
 * sparsity (--sparsity / --pattern required). `structured` takes no sparsity: it removes whole heads, FFN
 * channels or blocks (--heads, --ffn-ratio, --layers) and the tensors shrink.
 */
export const PRUNE_METHODS = {
  magnitude: { pass: 'prune-magnitude', needsCalibration: false, takesSparsity: true },
  wanda: { pass: 'prune-wanda', needsCalibration: true, takesSparsity: true },
  sparsegpt: { pass: 'prune-sparsegpt', needsCalibration: true, takesSparsity: true },
  structured: { pass: 'prune-structured', needsCalibration: false, takesSparsity: false },
} as const satisfies Record<string, { pass: string; needsCalibration: boolean; takesSparsity: boolean }>;
export type PruneMethodName = keyof typeof PRUNE_METHODS;

export interface PruneRequest {
  readonly method: PruneMethodName;
  readonly pass: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export async function pruneOnce(original: Model, request: PruneRequest, ctx: PassContext): Promise<{ model: Model; steps: StepReport[] }> {
  const model = cloneModel(original);
  const steps = await runSteps(model, resolveSteps([{ pass: request.pass, options: { ...request.options } }]), ctx);
  return { model, steps };
}

export interface LayerSparsity {
  readonly layer: string;
  readonly params: number;
  readonly nonZerosBefore: number;
  readonly nonZerosAfter: number;
  /** Zeros after / params. */
  readonly sparsity: number;
  /** ‖y_pruned − y_dense‖ / ‖y_dense‖ of the layer's output on calibration data, when measured. */
  readonly relativeError: number | undefined;
  /** Every group of M consecutive inputs of an output has at most N non-zeros (with a pattern). */
  readonly nmOk: boolean | undefined;
}

/**
 * The linear layers of the pruned model whose weights changed, as read from both models. A layer whose
 * weight changed shape (structured pruning) is not a sparsity figure: it is left to the structured report.
 */
export async function layerSparsity(original: Model, pruned: Model, data: Dataset | undefined, pattern: NmPattern | undefined): Promise<LayerSparsity[]> {
  const before = new Map(findPrunableLayers(original).layers.map((l) => [l.node.output(0).name, l]));
  const rows: (Omit<LayerSparsity, 'relativeError'> & { value: string })[] = [];
  for (const l of findPrunableLayers(pruned).layers) {
    const value = l.node.output(0).name;
    const dense = before.get(value);
    if (!dense) continue;
    const w = l.weight.initializer!;
    const d = dense.weight.initializer!;
    if (w.byteSource === d.byteSource || w.elementCount !== d.elementCount) continue;
    const params = w.elementCount;
    const zerosAfter = countZeros(w.toFloat32());
    rows.push({
      layer: l.label, value, params, nonZerosBefore: params - countZeros(d.toFloat32()), nonZerosAfter: params - zerosAfter,
      sparsity: zerosAfter / params,
      nmOk: pattern ? countNmViolations(w.toFloat32(), l.k, l.n, l.transposed, pattern) === 0 : undefined,
    });
  }
  const errors = data ? await measureLayerErrors(original, pruned, data, rows.map((r) => r.value)) : [];
  const byValue = new Map(errors.map((e) => [e.value, e.relativeError]));
  return rows.map(({ value, ...r }) => ({ ...r, relativeError: byValue.get(value) }));
}

/** Float32 parameters of the whole model and how many are zero. */
export function parameterZeros(model: Model): { params: number; zeros: number } {
  let params = 0;
  let zeros = 0;
  for (const v of model.graph.initializers) {
    const t = v.initializer;
    if (!t || t.dtype !== DType.FLOAT || !t.hasBytes) continue;
    params += t.elementCount;
    zeros += countZeros(t.toFloat32());
  }
  return { params, zeros };
}

/** Bytes of the files once gzip-compressed (default level), streamed: memory stays small for any size. */
export async function gzipBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) {
    let bytes = 0;
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { bytes += chunk.length; done(); } });
    await pipeline(fs.createReadStream(file), zlib.createGzip(), sink);
    total += bytes;
  }
  return total;
}

export interface LayerShrink {
  readonly layer: string;
  readonly paramsBefore: number;
  /** 0 when the layer is gone (its block was removed). */
  readonly paramsAfter: number;
}

/**
 * Linear layers whose weight changed size, paired by output name (an edit keeps the names of the values it
 * does not remove): parameter counts before and after, never element by element, since the shapes differ.
 */
export function layerShrink(original: Model, pruned: Model): LayerShrink[] {
  const after = new Map(findPrunableLayers(pruned).layers.map((l) => [l.node.output(0).name, l]));
  const rows: LayerShrink[] = [];
  for (const d of findPrunableLayers(original).layers) {
    const p = after.get(d.node.output(0).name);
    const paramsBefore = d.weight.initializer!.elementCount;
    const paramsAfter = p ? p.weight.initializer!.elementCount : 0;
    if (paramsAfter !== paramsBefore) rows.push({ layer: d.label, paramsBefore, paramsAfter });
  }
  return rows;
}
