/**
 * Quantization-format rules: QOperator vs QDQ, dynamic activation scales, zero points, integer types,
 * bias dequantization, weight scale axes, and the exactness traps of the CPU integer kernels.
 */
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import type { NodeRule, RuleContext } from './context.js';
import type { OpRestriction } from '../types.js';
import { DType, dtypeName } from '../../ir/dtype.js';
import { constantTensor } from '../../analysis/constants.js';
import {
  DYNAMIC_OPS, QOPERATOR_OPS, dequantizesConstant, hasNonzeroZeroPoint, integerValues, isBiasDq, isStandard,
  isUnsignedQuant, outputChannelAxis, qdqParams, qualifiedName,
} from '../qdq.js';

const say = (r: OpRestriction, what: string) => `${what}: ${r.reason} [${r.source}]`;

export const qoperatorRule: NodeRule = (node, ctx) => {
  const name = qualifiedName(node);
  const q = ctx.profile.quant;
  // A com.microsoft op without a kernel is reported once, by the op rule.
  if (node.domain === 'com.microsoft' && !ctx.profile.contribOps?.[node.opType]) return;
  if (DYNAMIC_OPS.has(name) && q.dynamicActivations) {
    ctx.report('dynamic-activation', q.dynamicActivations.severity, node, say(q.dynamicActivations, 'activations quantized at run time'));
    return;
  }
  if (!QOPERATOR_OPS.has(name) || !q.qoperator) return;
  ctx.report('qoperator', q.qoperator.severity, node, say(q.qoperator, 'QOperator form'));
};

export const qdqRule: NodeRule = (node, ctx) => {
  const isQ = isStandard(node, 'QuantizeLinear');
  if (!isQ && !isStandard(node, 'DequantizeLinear')) return;
  const q = ctx.profile.quant;
  const p = qdqParams(node, (v) => ctx.types.get(v));
  const weight = !isQ && dequantizesConstant(node);
  if (q.constantScales && !p.scaleTensor) {
    ctx.report('dynamic-scale', q.constantScales.severity, node, say(q.constantScales, 'scale computed at run time'));
  }
  if (!isQ && q.biasDq && isBiasDq(node)) {
    ctx.report('bias-dq', q.biasDq.severity, node, say(q.biasDq, 'dequantized bias'));
    return;
  }
  if (q.unsignedTypes && isUnsignedQuant(p.quantType)) {
    ctx.report('unsigned-type', q.unsignedTypes.severity, node, say(q.unsignedTypes, `${dtypeName(p.quantType!)} quantization`));
  } else if (q.symmetricOnly && hasNonzeroZeroPoint(p)) {
    ctx.report('zero-point', q.symmetricOnly.severity, node, say(q.symmetricOnly, 'nonzero zero point'));
  }
  if (weight && p.blockSize === 0) {
    if (q.symmetricWeights && (isUnsignedQuant(p.quantType) || hasNonzeroZeroPoint(p))) {
      ctx.report('asymmetric-weight', q.symmetricWeights.severity, node, say(q.symmetricWeights, 'asymmetric or unsigned weight'));
    }
    if (q.channelAxis) channelAxisRule(node, ctx, q.channelAxis);
  }
  if (weight && q.qdqMatMulFusion && FUSED_TYPES.has(p.quantType ?? -1) && readByFloatMatMul(node)) {
    // MatMulNBits takes blockwise weights only; other forms stay exact through the session entry alone.
    const fix = p.blockSize >= 16 ? undefined : null;
    ctx.report('qdq-matmul-fusion', q.qdqMatMulFusion.severity, node, say(q.qdqMatMulFusion, `${dtypeName(p.quantType!)} DequantizeLinear -> MatMul`), fix);
  }
};

const FUSED_TYPES: ReadonlySet<number> = new Set([DType.INT4, DType.UINT4, DType.INT8, DType.UINT8]);

/**
 * Read as the weight of a MatMul whose activations are float. Where a DequantizeLinear feeds the activations
 * too, the graph itself quantizes them: onnxruntime's integer kernel computes the same thing.
 */
function readByFloatMatMul(node: Node): boolean {
  return node.outputs[0]?.uses.some((u) => u.index === 1 && isStandard(u.node, 'MatMul') && !isDequantized(u.node.inputs[0])) ?? false;
}

const isDequantized = (v: Value | null | undefined): boolean => !!v?.producer && isStandard(v.producer, 'DequantizeLinear');

/** A per-axis weight scale that is not along the reader's output channels. */
function channelAxisRule(node: Node, ctx: RuleContext, r: OpRestriction): void {
  const s = constantTensor(node.inputs[1]);
  const data = constantTensor(node.inputs[0]);
  if (!s || !data || s.elementCount <= 1) return;
  const rank = data.dims.length;
  const axis = ((node.getInt('axis', 1) % rank) + rank) % rank;
  for (const use of node.outputs[0]?.uses ?? []) {
    const want = outputChannelAxis(use.node, use.index, rank);
    if (want !== undefined && want !== axis) {
      ctx.report('channel-axis', r.severity, node, say(r, `weight scales along axis ${axis}, ${use.node.opType} outputs along ${want}`));
      return;
    }
  }
}

/** Largest |value| of s8 weights that keeps u8 x s8 pair sums inside int16 (2 x 255 x 64 < 32767). */
export const SAFE_S8 = 64;

/** Integer-kernel nodes whose constant s8 weights exceed the safe range while activations are u8. */
export const s8SaturationRule: NodeRule = (node, ctx) => {
  const r = ctx.profile.quant.s8Saturation;
  if (!r) return;
  const name = qualifiedName(node);
  let activationU8: boolean;
  if (name === 'MatMulInteger' || name === 'com.microsoft.MatMulIntegerToFloat') activationU8 = ctx.types.get(node.input(0)) === DType.UINT8;
  else if (name === 'com.microsoft.DynamicQuantizeMatMul') activationU8 = true;
  else return;
  const b = constantTensor(node.inputs[1]);
  if (!activationU8 || !b || b.dtype !== DType.INT8) return;
  const values = integerValues(b);
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  if (max > SAFE_S8) ctx.report('s8-saturation', r.severity, node, say(r, `s8 weights up to |${max}| with u8 activations`));
};
