/**
 * Dynamic int8 quantization: weights stored in 8 bits, activations quantized to u8 at run time.
 *   MatMul(x, W) / Gemm(x, W, C)
 *     -> MatMulIntegerToFloat(rowQuant(x), Wq, s_row, scale, 128[, zp]) (+ C)      (qoperator, row scales: cpu, cuda)
 *     -> DynamicQuantizeMatMul(x, Wq, scale[, zp][, C])                            (qoperator, one scale per tensor)
 *     -> MatMul|Gemm(DQ(DynamicQuantizeLinear(x)), DQ(Wq, scale[, zp], axis=1)[, C])   (qdq: tensorrt, openvino)
 *   Gather(E, ids) -> Gather(Eq, ids) dequantized, or Gather(DQ(Eq), ids)          (with `embeddings`)
 * Seen on torch.onnx exports (MatMul with [K, N] weights, GPT-2's Gemm layers, BERT/Llama embedding Gathers).
 * Weight scales: least squared rounding error over a few clipped ranges (`searchScale`), or max-abs.
 */
import { z } from 'zod';
import { definePass, type PassContext } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import { findLinearLayers, warnPackedAttention, type LinearLayer } from './linear-layers.js';
import { isExcluded } from './quantize-weight-only.js';
import { addInt8Constants, emitDynamicQdq, emitDynamicQuantizeMatMul, emitQdqLinear, type Int8Constants } from './dynamic/emit-linear.js';
import { addTableConstants, emitQuantizedGather, findEmbeddingGathers, type TableConstants } from './dynamic/emit-gather.js';
import { RowQuantizer } from './dynamic/emit-row.js';
import { resolveActivations, resolveFormat, resolveWeightType, weightTypeWarning, type DynamicFormat } from './dynamic/forms.js';
import { quantizeInt8, scaleInt8, transposeInt8, type Int8Scheme } from '../../src/math/int8.js';
import { upgradeOpset } from '../legalize/upgrade-opset.js';

const NAME = 'quantize-dynamic';

export const DynamicOptions = z.object({
  format: z.enum(['auto', 'qoperator', 'qdq']).default('auto').describe('output form; auto picks from the target (com.microsoft integer kernels for cpu/cuda, DynamicQuantizeLinear + DequantizeLinear for tensorrt/openvino)'),
  perChannel: z.boolean().default(false).describe('one weight scale per output column (and per row of an embedding table) instead of one per tensor'),
  weightType: z.enum(['auto', 's8', 's8-reduced', 'u8']).default('auto').describe('weight integers; auto is exact and fast on the target (7-bit s8 for cpu/cuda, s8 for tensorrt/openvino)'),
  activations: z.enum(['auto', 'tensor', 'row']).default('auto').describe('activation scales: one per tensor, or one per row (token); auto = row for qoperator, tensor for qdq'),
  searchScale: z.boolean().default(true).describe("choose each weight scale by least squared rounding error over clipping ratios 1 ... 0.85 of the range (off: max-abs scale); embedding tables keep max-abs"),
  embeddings: z.boolean().default(false).describe('also store constant Gather tables (embeddings) in int8'),
  exclude: z.array(z.string()).default([]).describe('node names, /regex/ or op types to leave in float'),
}).strict();
type DynamicOptions = z.output<typeof DynamicOptions>;

/** Op types that only appear in a model that was quantized already. */
const QUANTIZED_OPS = new Set(['DynamicQuantizeMatMul', 'MatMulInteger', 'MatMulIntegerToFloat', 'QLinearMatMul', 'MatMulNBits', 'DequantizeLinear', 'QGemm']);

export default definePass({
  name: NAME,
  description: 'dynamic int8: MatMul/Gemm weights (and optionally embeddings) in 8 bits, activations quantized at run time',
  options: DynamicOptions,
  run(model, options, ctx) {
    const format = resolveFormat(options.format, ctx.target);
    const weightType = resolveWeightType(options.weightType, ctx.target);
    const rows = resolveActivations(options.activations, format);
    const { layers, rejected, packedAttention } = findLinearLayers(model);
    for (const r of rejected) ctx.explain(NAME, `${r.node.describe()}: ${r.reason}`);
    warnPackedAttention(ctx, NAME, packedAttention, 'quantize');
    const embeddings = options.embeddings ? findEmbeddingGathers(model) : { gathers: [], rejected: [] };
    if (layers.length === 0 && embeddings.gathers.length === 0) {
      ctx.warn(nothingToDo(model));
      return { modified: false, stats: { layersQuantized: 0, paramsQuantized: 0, embeddingsQuantized: 0, layersSkipped: rejected.length } };
    }
    const warning = weightTypeWarning(weightType, format, ctx.target);
    if (warning && layers.length) ctx.warn(`${NAME}: ${warning}`);

    const linear = quantizeLayers(model, layers, options, { format, scheme: weightType, rows }, ctx);
    const tables = options.embeddings ? quantizeTables(model, embeddings, options, format, ctx) : { tables: 0, params: 0 };
    return {
      modified: linear.layers + tables.tables > 0,
      stats: {
        layersQuantized: linear.layers, paramsQuantized: linear.params + tables.params, embeddingsQuantized: tables.tables,
        layersSkipped: rejected.length + layers.length - linear.layers,
      },
    };
  },
});

interface Form { readonly format: DynamicFormat; readonly scheme: Int8Scheme; readonly rows: boolean }

function quantizeLayers(model: Model, layers: readonly LinearLayer[], o: DynamicOptions, form: Form, ctx: PassContext): { layers: number; params: number } {
  // A weight read by several layers is stored once; an activation read by several layers is quantized once.
  const weights = new Map<string, Int8Constants>();
  const activations = new Map<Value, Value>();
  const rowQuantizer = new RowQuantizer(model);
  let count = 0;
  let params = 0;
  for (const layer of layers) {
    if (isExcluded(layer.node, o.exclude)) { ctx.explain(NAME, `${layer.node.describe()}: excluded`); continue; }
    const key = `${layer.weight.name}\u0000${layer.alpha}\u0000${layer.transposed}`;
    let w = weights.get(key);
    if (!w) {
      const data = layer.weight.initializer!.toFloat32();
      // Stored [N, K] (transB) the output channels are rows; the kernels read [K, N].
      const [rows, cols] = layer.transposed ? [layer.n, layer.k] : [layer.k, layer.n];
      const granularity = !o.perChannel ? 'tensor' : layer.transposed ? 'row' : 'column';
      const q = quantizeInt8(data, rows, cols, form.scheme, granularity, { searchScale: o.searchScale });
      w = addInt8Constants(model, layer.weight.name, scaleInt8(layer.transposed ? transposeInt8(q) : q, layer.alpha));
      weights.set(key, w);
    }
    if (form.format === 'qdq') upgradeOpset(model, 13); // per-axis DequantizeLinear
    if (form.format === 'qoperator') {
      if (form.rows) rowQuantizer.emit(layer, w);
      else emitDynamicQuantizeMatMul(model, layer, w);
    } else {
      const x = layer.node.input(0);
      let xq = activations.get(x);
      if (!xq) { xq = emitDynamicQdq(model, x, layer.node); activations.set(x, xq); }
      emitQdqLinear(model, layer, w, xq);
    }
    count++;
    params += layer.k * layer.n;
    ctx.progress(`${NAME}: ${count}/${layers.length} layers`);
  }
  return { layers: count, params };
}

function quantizeTables(model: Model, found: ReturnType<typeof findEmbeddingGathers>, o: DynamicOptions, format: DynamicFormat, ctx: PassContext): { tables: number; params: number } {
  for (const r of found.rejected) ctx.explain(NAME, `${r.node.describe()}: ${r.reason}`);
  const tables = new Map<Value, TableConstants>();
  let params = 0;
  for (const gather of found.gathers) {
    if (isExcluded(gather.node, o.exclude)) { ctx.explain(NAME, `${gather.node.describe()}: excluded`); continue; }
    // A table also read by a float op would be stored twice; leave it to that op.
    const others = gather.table.uses.filter((u) => u.node.opType !== 'Gather');
    if (others.length) { ctx.explain(NAME, `${gather.node.describe()}: the table is also read by ${others[0]!.node.describe()}`); continue; }
    let c = tables.get(gather.table);
    if (!c) {
      const q = quantizeInt8(gather.table.initializer!.toFloat32(), gather.rows, gather.cols, 's8', o.perChannel ? 'row' : 'tensor');
      c = addTableConstants(model, gather.table.name, q, format);
      tables.set(gather.table, c);
      params += gather.rows * gather.cols;
    }
    if (format === 'qdq' && c.perRow) upgradeOpset(model, 13);
    emitQuantizedGather(model, gather, c, format);
  }
  return { tables: tables.size, params };
}

function nothingToDo(model: Model): string {
  const quantized = model.graph.nodes.find((n) => QUANTIZED_OPS.has(n.opType));
  return quantized
    ? `${NAME}: the model is already quantized (${quantized.opType} found, no MatMul/Gemm with a float32 weight left); nothing changed`
    : `${NAME}: no MatMul/Gemm with a constant float32 weight; nothing changed`;
}
