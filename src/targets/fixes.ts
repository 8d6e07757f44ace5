/**
 * Which findings the `legalize-<target>` passes resolve, so that `llmopt check` can name the fix. The
 * legalize rewrites (passes/legalize/rewrites) are tested against this list.
 */
import type { Target } from './types.js';

/** Operators, by qualified name, that legalize rewrites into other forms. */
export const LEGALIZED_OPS: ReadonlySet<string> = new Set([
  'com.microsoft.MatMulNBits', 'GatherElements',
  'com.microsoft.SkipLayerNormalization', 'com.microsoft.SkipSimplifiedLayerNormalization', 'SimplifiedLayerNormalization',
  'com.microsoft.SimplifiedLayerNormalization', 'RMSNormalization',
  'com.microsoft.FastGelu', 'com.microsoft.BiasGelu', 'com.microsoft.Gelu', 'com.microsoft.QuickGelu',
  'com.microsoft.DynamicQuantizeMatMul', 'com.microsoft.MatMulIntegerToFloat', 'QLinearMatMul', 'MatMulInteger', 'DynamicQuantizeLinear',
  'com.microsoft.MultiHeadAttention', 'com.microsoft.GroupQueryAttention', 'com.microsoft.Attention', 'com.microsoft.RotaryEmbedding', 'RotaryEmbedding',
]);

/** Rules whose findings legalize resolves whatever the op (format and precision moves). */
export const LEGALIZED_RULES: ReadonlySet<string> = new Set([
  'zero-point', 'unsigned-type', 'asymmetric-weight', 'bias-dq', 'channel-axis', 'dynamic-scale', 's8-saturation',
  'qdq-matmul-fusion', 'op-dtype', 'opset-low', 'op-opset', 'ir-low',
]);

export function legalizePass(target: Target): string {
  return `legalize-${target}`;
}

/** The pass that fixes a finding, or null. */
export function fixFor(target: Target, rule: string, op: string | null): string | null {
  if (LEGALIZED_RULES.has(rule)) return legalizePass(target);
  return op !== null && LEGALIZED_OPS.has(op) ? legalizePass(target) : null;
}
