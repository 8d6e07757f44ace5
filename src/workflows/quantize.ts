/**
 * The quantize workflow behind `llmopt quantize`: one mode's pass on a copy of the model, optional
 * evaluation before/after, a per-layer error table, and the `--max-drop` search that keeps the worst layers
 * in float until the quality loss is within the limit.
 */
import type { Model } from '../ir/model.js';
import { cloneModel } from '../ir/clone.js';
import { runSteps, type StepReport } from '../pipeline/manager.js';
import { resolveSteps } from '../pipeline/registry.js';
import type { PassContext } from '../pipeline/pass.js';
import type { Dataset } from '../data/dataset.js';
import type { HostTensor } from '../runtime/tensors.js';
import { evaluateQuality, relativeDrop, type Quality } from '../eval/evaluate.js';
import { measureLayerErrors, type LayerError } from '../eval/layer-error.js';
import { findLinearLayers } from '../../passes/quantize/linear-layers.js';

export interface QuantizeRequest {
  readonly pass: string;
  readonly options: Record<string, unknown>;
  readonly exclude: readonly string[];
}

export interface EvalData {
  readonly ids: HostTensor;
  readonly labels?: HostTensor;
  readonly rows?: number;
}

export interface QuantizeOutcome {
  readonly model: Model;
  readonly steps: StepReport[];
  readonly exclude: readonly string[];
  readonly quality?: Quality;
  readonly attempts: number;
}

export async function quantizeOnce(original: Model, request: QuantizeRequest, exclude: readonly string[], ctx: PassContext): Promise<{ model: Model; steps: StepReport[] }> {
  const model = cloneModel(original);
  const options = exclude.length ? { ...request.options, exclude: [...exclude] } : request.options;
  // legalize-for-target: what the mode's pass wrote and the target rejects is rewritten (nothing on a clean model).
  const steps = await runSteps(model, resolveSteps([{ pass: request.pass, options }, { pass: 'legalize-for-target' }]), ctx);
  return { model, steps };
}

export async function evaluate(model: Model, data: EvalData): Promise<Quality> {
  return evaluateQuality(model, data.ids, data.labels, { limit: data.rows });
}

/** Output values of the original's linear layers: what the per-layer table compares. */
export function layerOutputs(original: Model): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of findLinearLayers(original).layers) out.set(l.node.output(0).name, l.node.name || l.node.output(0).name);
  return out;
}

export async function layerErrorTable(original: Model, quantized: Model, data: Dataset): Promise<(LayerError & { node: string })[]> {
  const outputs = layerOutputs(original);
  const errors = await measureLayerErrors(original, quantized, data, [...outputs.keys()]);
  return errors.map((e) => ({ ...e, node: outputs.get(e.value)! }));
}

/**
 * Keeps the layers with the lowest SQNR in float, as few as needed for a relative quality drop of at most
 * `maxDrop`: doubles the count until the drop is met, then bisects between the last two counts.
 */
export async function searchMaxDrop(
  original: Model, request: QuantizeRequest, ctx: PassContext, evalData: EvalData, baseline: Quality,
  errors: readonly (LayerError & { node: string })[], maxDrop: number, onRound: (excluded: number, drop: number) => void,
): Promise<QuantizeOutcome> {
  const worst = [...errors].sort((a, b) => a.sqnrDb - b.sqnrDb).map((e) => e.node);
  let attempts = 0;
  const attempt = async (count: number) => {
    const exclude = [...request.exclude, ...worst.slice(0, count)];
    const { model, steps } = await quantizeOnce(original, request, exclude, ctx);
    const quality = await evaluate(model, evalData);
    attempts++;
    const drop = relativeDrop(baseline, quality);
    onRound(count, drop);
    return { model, steps, exclude, quality, ok: drop <= maxDrop };
  };
  let failed = 0;
  let count = 1;
  let best = await attempt(count);
  while (!best.ok && count < worst.length) {
    failed = count;
    count = Math.min(worst.length, count * 2);
    best = await attempt(count);
  }
  // The smallest passing count lies in (failed, count]: bisect.
  let hi = count;
  while (best.ok && hi - failed > 1) {
    const mid = Math.floor((failed + hi) / 2);
    const candidate = await attempt(mid);
    if (candidate.ok) { best = candidate; hi = mid; } else failed = mid;
  }
  return { model: best.model, steps: best.steps, exclude: best.exclude, quality: best.quality, attempts };
}
