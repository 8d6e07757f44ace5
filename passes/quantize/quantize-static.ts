/**
 * Static int8 quantization of linear layers, activations calibrated on data:
 *
 *   x ─▶ MatMul/Gemm(·, W)   ->   x ─▶ Q ─▶ DQ ─▶ MatMul/Gemm(·, DQ(Wq, sw, zw))          (qdq, default)
 *                            ->   Mul(Cast(MatMulInteger(Q(x), Wq, zx, zw)), sx·sw)      (qoperator)
 *
 * Only linear-layer inputs and weights are quantized; see static/select.ts for what stays float. Seen on
 * torch.onnx exports of Llama (MatMul, decomposed RMSNorm), GPT-2 (Gemm behind Reshape, LayerNormalization)
 * and BERT (MatMul, LayerNormalization).
 */
import { z } from 'zod';
import { definePass, type PassContext } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import { PreconditionError } from '../../src/errors.js';
import { quantizedOps, selectLayers, type ActivationGroup } from './static/select.js';
import { activationRanges, channelMaxima } from './static/observe.js';
import { smoothGroup } from './static/smooth-quant.js';
import { activationParams, type ActivationParams } from './static/activation-params.js';
import { quantizeWeight, type QuantizedWeight, type WeightType } from './static/weight-quant.js';
import { dequantizeWeight, insertActivationQdq, insertActivationQuantize, quantizeBias } from './static/emit-qdq.js';
import { emitMatMulInteger } from './static/emit-qoperator.js';
import { INTEGER_RULES } from './static/target-rules.js';
import type { LinearLayer } from './linear-layers.js';
import type { Dataset } from '../../src/data/dataset.js';
import { warnPackedAttention } from './linear-layers.js';

const NAME = 'quantize-static';

export const StaticOptions = z.object({
  format: z.enum(['qdq', 'qoperator']).default('qdq').describe('qdq: QuantizeLinear/DequantizeLinear around float MatMul/Gemm; qoperator: MatMulInteger with rescaling'),
  method: z.enum(['minmax', 'percentile', 'entropy']).default('percentile').describe('activation range: min/max, a percentile of the samples, or the KL-optimal (entropy) threshold'),
  percentile: z.number().gt(50).max(100).default(99.999).describe('with method percentile: the share of samples (%) inside the range'),
  smoothAlpha: z.number().min(0).max(1).nullable().default(null).describe('SmoothQuant migration strength α in [0, 1] (0.5 is usual); null = off'),
  activationSymmetric: z.union([z.literal('auto'), z.boolean()]).default('auto').describe('s8 symmetric activations (true) or u8 asymmetric (false); auto follows the target'),
  perChannel: z.boolean().default(false).describe('one weight scale per output channel'),
  weightType: z.enum(['auto', 's8-reduced', 's8', 'u8']).default('auto').describe('weight integers; auto picks a form that is exact on the target'),
  quantizeHead: z.boolean().default(false).describe('also quantize the output head (the layer computing the logits)'),
  bins: z.number().int().min(128).max(1 << 16).multipleOf(2).default(2048).describe('histogram bins per sign for percentile and entropy'),
  exclude: z.array(z.string()).default([]).describe('node names, /regex/ or op types to leave in float'),
}).strict();
export type StaticOptions = z.output<typeof StaticOptions>;

export default definePass({
  name: NAME,
  description: 'int8 weights and calibrated int8 activations for MatMul/Gemm (QDQ or QOperator), optional SmoothQuant',
  options: StaticOptions,
  requires: ['calibration'],
  async run(model, options, ctx) {
    const data = ctx.calibration;
    if (!data) throw new PreconditionError(`${NAME} needs calibration data (llmopt quantize --calib FILE: .npy token ids, .npz or .jsonl)`);
    const unchanged = { modified: false, stats: { layersQuantized: 0 } };
    const quantized = quantizedOps(model);
    if (quantized.length) { ctx.warn(`${NAME}: the model is quantized already (${quantized.join(', ')}); left unchanged`); return unchanged; }
    const explain = (m: string) => ctx.explain(NAME, m);
    let selection = selectLayers(model, options, explain);
    warnPackedAttention(ctx, NAME, selection.packedAttention, 'quantize');
    if (!selection.groups.length) { ctx.warn(`${NAME}: no MatMul/Gemm layer with a constant float weight to quantize; left unchanged`); return unchanged; }
    checkOpset(model, options.perChannel);
    const forms = integerForms(options, ctx);
    let smoothed = { folded: 0, inserted: 0 };
    if (options.smoothAlpha !== null) {
      smoothed = await smooth(model, data, selection.groups, options.smoothAlpha, ctx);
      selection = selectLayers(model, options, () => {}); // weights and inputs were replaced
    }
    const ranges = await activationRanges(model, data, selection.groups.map((g) => g.input.name),
      { method: options.method, percentile: options.percentile, symmetric: forms.symmetric, bins: options.bins }, ctx.progress);
    let layers = 0, activations = 0, biases = 0, skipped = selection.skipped;
    for (const group of selection.groups) {
      const range = ranges.get(group.input.name);
      if (!range) { explain(`'${group.input.name}': not finite on the calibration data; its ${group.layers.length} layer(s) stay float`); skipped += group.layers.length; continue; }
      biases += emitGroup(model, group, activationParams(range, forms.symmetric), options, forms);
      layers += group.layers.length;
      activations++;
    }
    return {
      modified: layers > 0,
      stats: { layersQuantized: layers, activationsQuantized: activations, biasesQuantized: biases, layersSkipped: skipped, smoothFolded: smoothed.folded, smoothInserted: smoothed.inserted, calibrationRows: data.rows },
    };
  },
});

/** Rewrites one group; returns how many Gemm biases became int32. */
function emitGroup(model: Model, group: ActivationGroup, params: ActivationParams, options: StaticOptions, forms: IntegerForms): number {
  const readers = group.layers.map((l) => l.node);
  let biases = 0;
  if (options.format === 'qdq') {
    insertActivationQdq(model, group.input, params, readers);
    for (const layer of group.layers) {
      const qw = dequantizeWeight(model, layer, weightOf(layer, forms.weightType, options.perChannel));
      if (layer.kind === 'gemm' && forms.quantizeBias && quantizeBias(model, layer, params.scale, qw)) biases++;
    }
    return biases;
  }
  const x = insertActivationQuantize(model, group.input, params, readers);
  for (const layer of group.layers) emitMatMulInteger(model, layer, { codes: x.codes, zeroPoint: x.zeroPoint, params }, weightOf(layer, forms.weightType, options.perChannel));
  return biases;
}

function weightOf(layer: LinearLayer, type: WeightType, perChannel: boolean): QuantizedWeight {
  const t = layer.weight.initializer!;
  return quantizeWeight(t.toFloat32(), t.dims[0]!, t.dims[1]!, type, perChannel ? (layer.transposed ? 0 : 1) : undefined);
}

interface IntegerForms {
  readonly symmetric: boolean;
  readonly weightType: WeightType;
  readonly quantizeBias: boolean;
}

/** The activation and weight integer types: explicit options win, with a warning when the target disagrees. */
function integerForms(options: StaticOptions, ctx: PassContext): IntegerForms {
  const rules = INTEGER_RULES[ctx.target];
  const symmetric = options.activationSymmetric === 'auto' ? rules.activationSymmetric : options.activationSymmetric;
  const weightType = options.weightType === 'auto' ? rules.weightType(symmetric) : options.weightType;
  if (rules.symmetricOnly && !symmetric) ctx.warn(`${NAME}: ${ctx.target} takes symmetric quantization only; asymmetric u8 activations were asked for`);
  if (!rules.weightTypes.includes(weightType)) ctx.warn(`${NAME}: ${ctx.target} does not take ${weightType} weights (it takes ${rules.weightTypes.join(', ')})`);
  if (ctx.target === 'cpu' && !symmetric && weightType === 's8') ctx.warn(`${NAME}: u8 activations × full-range s8 weights give wrong results on CPUs without VNNI once onnxruntime fuses them; weightType auto avoids it`);
  if (options.format === 'qoperator' && (ctx.target === 'cuda' || ctx.target === 'tensorrt')) ctx.warn(`${NAME}: MatMulInteger has no ${ctx.target} kernel and runs on the CPU; use format qdq`);
  return { symmetric, weightType, quantizeBias: rules.quantizeBias };
}

async function smooth(model: Model, data: Dataset, groups: readonly ActivationGroup[], alpha: number, ctx: PassContext): Promise<{ folded: number; inserted: number }> {
  const maxima = await channelMaxima(model, data, groups.map((g) => g.input.name), ctx.progress);
  const counts = { folded: 0, inserted: 0 };
  for (const group of groups) {
    const outcome = smoothGroup(model, group, maxima.get(group.input.name)!, alpha);
    if (outcome !== 'skipped') counts[outcome]++;
    ctx.explain(NAME, `'${group.input.name}': SmoothQuant ${outcome} (${group.layers.length} layer(s))`);
  }
  return counts;
}

function checkOpset(model: Model, perChannel: boolean): void {
  const opset = model.opsetVersion('') ?? 0;
  if (opset < 10) throw new PreconditionError(`${NAME}: QuantizeLinear needs opset 10 or later (the model has ${opset}); run upgrade-opset first`);
  if (perChannel && opset < 13) throw new PreconditionError(`${NAME}: per-channel DequantizeLinear needs opset 13 or later (the model has ${opset}); run upgrade-opset first`);
}
