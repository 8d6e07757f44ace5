/**
 * Weight-only blockwise quantization of linear layers (4 or 8 bits, blocks along K):
 *   MatMul(x, W) / Gemm(x, W, b)  ->  MatMulNBits(x, Wq, scales[, zp][, b])            (cpu, cuda)
 *                                 ->  MatMul(x, DequantizeLinear(Wq, s[, zp], block_size)) (tensorrt, openvino)
 * Activations stay float, except inside the CPU kernel at accuracy_level 4 (the cpu default), which
 * quantizes them to int8 per block. Seen on torch.onnx exports (MatMul with [K,N] weights) and GPT-2's Gemm layers.
 * How the codes are chosen (`algo`):
 *   rtn   each block rounded to nearest (scale by least squared error over a few clipping ratios)
 *   gptq  rows quantized in turn, each rounding error spread over the rest by the inputs' inverse Hessian
 *   awq   input channels scaled by mean|x|^α (α searched by output error), 1/s folded upstream, then each
 *         block's clipping chosen by output error (diagonal blocks of XᵀX)
 * With `keepHead8bit` the output head (and an embedding table tied to it) gets 8 bits.
 */
import { z } from 'zod';
import { definePass, type PassContext, type PassResult, type Target } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/node.js';
import type { Dataset } from '../../src/data/dataset.js';
import { findLinearLayers, warnPackedAttention, type LinearLayer } from './linear-layers.js';
import { emitDequantizeMatMul, emitMatMulNBits, nbitsCanTakeBias } from './emit-weight-only.js';
import { columnReader, quantizeBlockwise, type BlockwiseOptions, type BlockwiseWeight } from '../../src/math/blockwise.js';
import { findHeadLayers, tiedGathers } from './weight-only/head.js';
import { quantizeEmbedding8bit } from './weight-only/embedding-8bit.js';
import { gptqQuantizer, type LayerQuantizer } from './weight-only/gptq-layers.js';
import { applyAwqScaling } from './weight-only/awq-scale.js';
import { awqClipQuantize } from './weight-only/awq-clip.js';
import { ConfigError } from '../../src/errors.js';

export const WeightOnlyOptions = z.object({
  bits: z.union([z.literal(4), z.literal(8)]).default(4).describe('bits per weight'),
  blockSize: z.union([z.literal(16), z.literal(32), z.literal(64), z.literal(128), z.literal(256)]).default(32).describe('weights per scale, along K'),
  symmetric: z.boolean().default(true).describe('symmetric (no zero point) or asymmetric blocks'),
  searchScale: z.boolean().default(true).describe("choose each block's scale by least squared rounding error over a few clipping ratios (off: plain max-abs scale)"),
  format: z.enum(['auto', 'matmulnbits', 'qdq']).default('auto').describe('output form; auto picks from the target (MatMulNBits for cpu/cuda, DequantizeLinear for tensorrt/openvino)'),
  accuracyLevel: z.union([z.literal('auto'), z.number().int().min(0).max(4)]).default('auto').describe('MatMulNBits accuracy_level: 0 = float activations (exact), 4 = int8 activations inside the kernel (faster, about 5e-3 relative error); auto = 4 for cpu, 0 elsewhere'),
  exclude: z.array(z.string()).default([]).describe('node names, /regex/ or op types to leave in float'),
  algo: z.enum(['rtn', 'gptq', 'awq']).default('rtn').describe('rtn: round each block to nearest; gptq: compensate rounding errors with the inputs\' Hessian; awq: activation-aware channel scaling, then rtn (gptq and awq need calibration data)'),
  percdamp: z.number().min(0).max(1).default(0.01).describe('gptq: damping added to the Hessian diagonal, as a fraction of its mean'),
  actOrder: z.boolean().default(true).describe('gptq: visit inputs by decreasing activation energy (block scales stay in the original order)'),
  awqGrid: z.number().int().min(1).max(100).default(20).describe('awq: exponents α = i/grid tried, i = 0 … grid-1'),
  awqClip: z.boolean().default(true).describe("awq: clip each block's range by the least output error on calibration data (off: by searchScale's weight error)"),
  keepHead8bit: z.boolean().default(false).describe('quantize the output head (and an embedding table tied to it) to 8 bits'),
}).strict();
export type WeightOnlyOptions = z.output<typeof WeightOnlyOptions>;

type Format = 'matmulnbits' | 'qdq';

interface Selection {
  readonly layers: LinearLayer[];
  readonly skipped: number;
  readonly heads: ReadonlySet<LinearLayer>;
  readonly tiedTables: readonly Node[];
}

export default definePass({
  name: 'quantize-weight-only',
  description: 'quantize MatMul/Gemm weights blockwise to 4 or 8 bits (activations stay float)',
  options: WeightOnlyOptions,
  requires: (o) => (o.algo === 'rtn' ? [] : ['calibration', 'topo-sorted']),
  run(model, options, ctx) {
    const format = formatFor(options.format, ctx.target);
    const selection = select(model, options, format, ctx);
    if (options.algo === 'rtn') return quantizeSelected(model, selection, options, format, ctx, rtn, {});
    const data = ctx.calibration;
    if (!data) throw new ConfigError(`quantize-weight-only: algo '${options.algo}' needs calibration data (--calib)`);
    return quantizeCalibrated(model, selection, options, format, ctx, data);
  },
});

async function quantizeCalibrated(model: Model, s: Selection, o: WeightOnlyOptions, format: Format, ctx: PassContext, data: Dataset): Promise<PassResult> {
  const extra: Record<string, number> = { calibrationRows: data.rows };
  if (o.algo === 'gptq') {
    const { quantize, stats } = await gptqQuantizer(model, s.layers, data, o, ctx.progress);
    const result = quantizeSelected(model, s, o, format, ctx, quantize, extra);
    return { ...result, stats: { ...result.stats, gptqDampingRaised: stats.dampingRaised } };
  }
  const quant = (layer: LinearLayer) => blockwiseOptions(o, s.heads.has(layer));
  const { stats, grams } = await applyAwqScaling(model, s.layers, data, { grid: o.awqGrid, progress: ctx.progress, quant });
  const clipped = o.awqClip ? await awqClipQuantize(grams, quant, ctx.progress) : new Map<LinearLayer, BlockwiseWeight>();
  const quantize: LayerQuantizer = (layer, q) => clipped.get(layer) ?? rtn(layer, q);
  return quantizeSelected(model, s, o, format, ctx, quantize, { ...extra, ...stats, awqClipped: clipped.size });
}

/**
 * The CPU kernel with int8 activations (q4 x q8 dot products) is what makes 4-bit decode fast there; its
 * error is within the accuracy targets of the shared models. Other providers do not read the attribute:
 * 0 keeps any node that falls back to the CPU exact.
 */
const ACCURACY_LEVEL: Readonly<Record<Target, number>> = { cpu: 4, cuda: 0, tensorrt: 0, openvino: 0 };

export function accuracyLevelFor(option: WeightOnlyOptions['accuracyLevel'], target: Target): number {
  return option === 'auto' ? ACCURACY_LEVEL[target] : option;
}

function formatFor(format: WeightOnlyOptions['format'], target: Target): Format {
  if (format !== 'auto') return format;
  return target === 'tensorrt' || target === 'openvino' ? 'qdq' : 'matmulnbits';
}

/** The layers to quantize, the output heads among them, and embedding tables tied to a head (8-bit head only). */
function select(model: Model, o: WeightOnlyOptions, format: Format, ctx: PassContext): Selection {
  const { layers, rejected, packedAttention } = findLinearLayers(model);
  for (const r of rejected) ctx.explain('quantize-weight-only', `${r.node.describe()}: ${r.reason}`);
  warnPackedAttention(ctx, 'quantize-weight-only', packedAttention, 'quantize');
  const chosen = layers.filter((layer) => {
    if (isExcluded(layer.node, o.exclude)) { ctx.explain('quantize-weight-only', `${layer.node.describe()}: excluded`); return false; }
    if (format === 'matmulnbits' && !nbitsCanTakeBias(layer)) { ctx.explain('quantize-weight-only', `${layer.node.describe()}: bias shape is not [N]`); return false; }
    return true;
  });
  const heads = o.keepHead8bit ? findHeadLayers(chosen) : new Set<LinearLayer>();
  for (const h of heads) ctx.explain('quantize-weight-only', `${h.node.describe()}: output head, 8 bits`);
  const tiedTables = [...heads].flatMap((h) => tiedGathers(model, h));
  return { layers: chosen, skipped: rejected.length + layers.length - chosen.length, heads, tiedTables };
}

function blockwiseOptions(o: WeightOnlyOptions, head: boolean): BlockwiseOptions {
  return { bits: head ? 8 : o.bits, blockSize: o.blockSize, symmetric: o.symmetric, searchScale: o.searchScale };
}

const rtn: LayerQuantizer = (layer, quant) =>
  quantizeBlockwise(columnReader(layer.weight.initializer!.toFloat32(), layer.k, layer.n, layer.transposed), layer.k, layer.n, quant);

function quantizeSelected(
  model: Model, s: Selection, o: WeightOnlyOptions, format: Format, ctx: PassContext, quantize: LayerQuantizer, extra: Record<string, number>,
): PassResult {
  let paramsQuantized = 0;
  const shared = new Set<string>();
  for (const [i, layer] of s.layers.entries()) {
    // A tied weight (embedding reused as output head) stays float for its other reader.
    if (layer.weight.uses.length > 1 && format === 'matmulnbits') shared.add(layer.weight.name);
    const q = quantize(layer, blockwiseOptions(o, s.heads.has(layer)));
    if (format === 'matmulnbits') emitMatMulNBits(model, layer, q, accuracyLevelFor(o.accuracyLevel, ctx.target));
    else emitDequantizeMatMul(model, layer, q);
    paramsQuantized += layer.k * layer.n;
    ctx.progress(`quantize-weight-only (${o.algo}): ${i + 1}/${s.layers.length} layers`);
  }
  for (const gather of s.tiedTables) {
    quantizeEmbedding8bit(model, gather, { blockSize: o.blockSize, symmetric: o.symmetric, searchScale: o.searchScale });
  }
  const sharedLeft = [...shared].filter((name) => model.graph.lookup(name)?.initializer).length;
  return {
    modified: s.layers.length > 0,
    stats: {
      layersQuantized: s.layers.length, paramsQuantized, layersSkipped: s.skipped, sharedWeights: sharedLeft,
      headLayers8bit: s.heads.size, embeddings8bit: s.tiedTables.length, ...extra,
    },
  };
}

/** Exclusion by exact node name, /regex/ on the name, or op type. */
export function isExcluded(node: { name: string; opType: string }, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    if (p.length > 2 && p.startsWith('/') && p.endsWith('/')) return new RegExp(p.slice(1, -1)).test(node.name);
    return p === node.name || p === node.opType;
  });
}
