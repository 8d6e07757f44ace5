/**
 * Mixed precision: float32 compute and weights -> float16 or bfloat16, with the parts 16 bits get wrong
 * kept float32 and Casts only where the two regions meet.
 *
 *   x:f32 -> MatMul(W:f32) -> Add(b:f32) -> Pow(.,2) -> ReduceMean -> Sqrt -> y:f32
 *   x:f32 -> Cast(fp16) -> MatMul(W:fp16) -> Add(b:fp16) -> Cast(f32) -> Pow -> ReduceMean -> Sqrt -> y:f32
 *
 * Kept float32: ops without a 16-bit form at the model's opset, the block list, excluded nodes, norm
 * statistics and index math (see float16/precision-rules.ts), and, for float16, every node that reads or
 * writes a value outside the float16 range in a calibration run (autoBlock). Seen on torch.onnx exports of
 * Llama, GPT-2 and BERT (decomposed attention, masks filled with -3.4e38, RMSNorm with explicit Casts).
 */
import { z } from 'zod';
import { definePass, type PassContext } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import { DType } from '../../src/ir/dtype.js';
import { isExcluded } from './quantize-weight-only.js';
import { inferElementTypes } from './float16/element-types.js';
import { floatValuesOf, planPrecision, type KeepReason, type PlanOptions } from './float16/plan.js';
import { findOutOfRange, type RangeFindings } from './float16/range-check.js';
import { applyPlan } from './float16/rewrite.js';
import type { LowType } from './float16/op-support.js';

export const Float16Options = z.object({
  dtype: z.enum(['float16', 'bfloat16']).default('float16').describe('the 16-bit type: float16 (IEEE half) or bfloat16'),
  keepIoTypes: z.boolean().default(true).describe('graph inputs and outputs stay float32, with Casts at the boundary'),
  blockOps: z.array(z.string()).default([]).describe('op types kept in float32, on top of the default list (Range, CumSum, Sin, Cos)'),
  exclude: z.array(z.string()).default([]).describe('node names, /regex/ or op types kept in float32'),
  precisionRules: z.boolean().default(true).describe('keep the default block list, norm statistics and the index math feeding kept nodes in float32'),
  autoBlock: z.boolean().default(true)
    .describe('float16: keep nodes that read or write values beyond the float16 range in float32, seen on the calibration data or, without it, on seeded synthetic inputs'),
  rangeMargin: z.number().gt(0).max(1).default(0.5).describe('autoBlock: a value counts as out of range above 65504 x margin'),
  calibrationRows: z.number().int().positive().default(8).describe('autoBlock: rows of data to run'),
}).strict();
export type Float16Options = z.output<typeof Float16Options>;

export default definePass({
  name: 'convert-float16',
  description: 'convert float32 compute and weights to float16 or bfloat16, keeping unsafe parts in float32',
  options: Float16Options,
  async run(model, options, ctx) {
    const low: LowType = options.dtype === 'float16' ? DType.FLOAT16 : DType.BFLOAT16;
    const types = inferElementTypes(model.graph);
    const planOptions: PlanOptions = {
      low, blockOps: options.blockOps, precisionRules: options.precisionRules, keepIoTypes: options.keepIoTypes,
      excluded: (n) => isExcluded(n, options.exclude), explain: () => {},
    };
    // The range check runs the model: only when something would be converted without it.
    const unchecked = planPrecision(model, planOptions, undefined, types);
    if (unchecked.lowNodes.size === 0) return { modified: false, stats: { nodesConverted: 0, nodesKept: unchecked.kept.size } };
    const ranges = low === DType.FLOAT16 && options.autoBlock ? await checkRanges(model, types, options, ctx) : undefined;
    const plan = planPrecision(model, { ...planOptions, explain: (m) => ctx.explain('convert-float16', m) }, ranges, types);
    if (plan.lowNodes.size === 0) return { modified: false, stats: { nodesConverted: 0, nodesKept: plan.kept.size } };
    const stats = applyPlan(model, plan, options.keepIoTypes);
    if (stats.valuesSaturated > 0) ctx.warn(`convert-float16: ${stats.valuesSaturated} constant values beyond the ${options.dtype} range were written as its largest finite value`);
    if (low === DType.BFLOAT16 && ctx.target === 'cpu') {
      ctx.warn('convert-float16: onnxruntime\'s CPU provider has no bfloat16 kernels for MatMul, Add, Mul, Softmax...: the bfloat16 model is for cuda or tensorrt; use --mode fp16 for cpu');
    }
    return { modified: true, stats: { ...stats, nodesKept: plan.kept.size, ...countReasons(plan.kept) } };
  },
});

async function checkRanges(model: Model, types: ReturnType<typeof inferElementTypes>, options: Float16Options, ctx: PassContext): Promise<RangeFindings | undefined> {
  ctx.progress('convert-float16: checking value ranges');
  try {
    return await findOutOfRange(model, floatValuesOf(model, types), ctx.calibration, { margin: options.rangeMargin, rows: options.calibrationRows, seed: ctx.seed });
  } catch (err) {
    ctx.warn(`convert-float16: range check skipped (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

/** keptRange, keptBlocked, ... for the summary table. */
function countReasons(kept: ReadonlyMap<unknown, KeepReason>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const reason of kept.values()) {
    const key = `kept${reason.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
