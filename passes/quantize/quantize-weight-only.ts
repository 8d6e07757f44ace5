/**
 * Weight-only blockwise quantization of linear layers (4 or 8 bits, blocks along K):
 *   MatMul(x, W) / Gemm(x, W, b)  ->  MatMulNBits(x, Wq, scales[, zp][, b])            (cpu, cuda)
 *                                 ->  MatMul(x, DequantizeLinear(Wq, s[, zp], block_size)) (tensorrt, openvino)
 * Activations stay float. Seen on torch.onnx exports (MatMul with [K,N] weights) and GPT-2's Gemm layers.
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import { findLinearLayers } from './linear-layers.js';
import { emitDequantizeMatMul, emitMatMulNBits, nbitsCanTakeBias } from './emit-weight-only.js';
import { columnReader, quantizeBlockwise } from '../../src/math/blockwise.js';

export const WeightOnlyOptions = z.object({
  bits: z.union([z.literal(4), z.literal(8)]).default(4).describe('bits per weight'),
  blockSize: z.union([z.literal(16), z.literal(32), z.literal(64), z.literal(128), z.literal(256)]).default(32).describe('weights per scale, along K'),
  symmetric: z.boolean().default(true).describe('symmetric (no zero point) or asymmetric blocks'),
  searchScale: z.boolean().default(true).describe("choose each block's scale by least squared rounding error over a few clipping ratios (off: plain max-abs scale)"),
  format: z.enum(['auto', 'matmulnbits', 'qdq']).default('auto').describe('output form; auto picks from the target (MatMulNBits for cpu/cuda, DequantizeLinear for tensorrt/openvino)'),
  accuracyLevel: z.number().int().min(0).max(4).default(0).describe('MatMulNBits accuracy_level (4 = int8 activations inside the kernel: faster, less exact)'),
  exclude: z.array(z.string()).default([]).describe('node names, /regex/ or op types to leave in float'),
}).strict();

export default definePass({
  name: 'quantize-weight-only',
  description: 'quantize MatMul/Gemm weights blockwise to 4 or 8 bits (activations stay float)',
  options: WeightOnlyOptions,
  run(model, options, ctx) {
    const format = options.format === 'auto' ? (ctx.target === 'tensorrt' || ctx.target === 'openvino' ? 'qdq' : 'matmulnbits') : options.format;
    const { layers, rejected } = findLinearLayers(model);
    for (const r of rejected) ctx.explain('quantize-weight-only', `${r.node.describe()}: ${r.reason}`);
    let quantized = 0;
    let paramsQuantized = 0;
    const shared = new Set<string>();
    for (const layer of layers) {
      if (isExcluded(layer.node, options.exclude)) { ctx.explain('quantize-weight-only', `${layer.node.describe()}: excluded`); continue; }
      if (layer.weight.uses.length > 1 && format === 'matmulnbits') {
        // A tied weight (embedding reused as output head) stays float for its other reader.
        shared.add(layer.weight.name);
      }
      if (format === 'matmulnbits' && !nbitsCanTakeBias(layer)) { ctx.explain('quantize-weight-only', `${layer.node.describe()}: bias shape is not [N]`); continue; }
      const w = layer.weight.initializer!.toFloat32();
      const q = quantizeBlockwise(columnReader(w, layer.k, layer.n, layer.transposed), layer.k, layer.n, options);
      if (format === 'matmulnbits') emitMatMulNBits(model, layer, q, options.accuracyLevel);
      else emitDequantizeMatMul(model, layer, q);
      quantized++;
      paramsQuantized += layer.k * layer.n;
      ctx.progress(`quantize-weight-only: ${quantized}/${layers.length} layers`);
    }
    return { modified: quantized > 0, stats: { layersQuantized: quantized, paramsQuantized, layersSkipped: rejected.length + layers.length - quantized, sharedWeights: shared.size } };
  },
});

/** Exclusion by exact node name, /regex/ on the name, or op type. */
export function isExcluded(node: { name: string; opType: string }, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    if (p.length > 2 && p.startsWith('/') && p.endsWith('/')) return new RegExp(p.slice(1, -1)).test(node.name);
    return p === node.name || p === node.opType;
  });
}
