/**
 * What dynamic int8 quantization emits for each execution provider, as data.
 * - cpu/cuda: com.microsoft integer kernels (cuda has none and runs them on the host). They multiply u8
 *   activations by the weights; without VNNI, AVX2's vpmaddubsw saturates a pair of u8 x s8 products in
 *   int16, so full-range s8 weights give wrong sums there. Two exact forms remain: 7-bit s8 (-64..64) on
 *   the fast u8 x s8 kernel, and u8 with a zero point (8 bits) on the u8 x u8 kernel, about half as fast.
 *   auto takes 7-bit s8: speed is the point of this mode, and per channel it is as accurate as 8 bits.
 * - tensorrt/openvino: QDQ with symmetric s8 (TensorRT takes no zero points), computed by their own kernels.
 */
import type { Target } from '../../../src/pipeline/pass.js';
import type { Int8Scheme } from '../../../src/math/int8.js';
import { ConfigError } from '../../../src/errors.js';

export type DynamicFormat = 'qoperator' | 'qdq';

export const TARGET_FORMS: Readonly<Record<Target, { readonly format: DynamicFormat; readonly weightType: Int8Scheme }>> = {
  cpu: { format: 'qoperator', weightType: 's8-reduced' },
  cuda: { format: 'qoperator', weightType: 's8-reduced' },
  tensorrt: { format: 'qdq', weightType: 's8' },
  openvino: { format: 'qdq', weightType: 's8' },
};

export function resolveFormat(option: 'auto' | DynamicFormat, target: Target): DynamicFormat {
  return option === 'auto' ? TARGET_FORMS[target].format : option;
}

/** The weight type; 'auto' is the form that the target's kernels compute exactly and fast. */
export function resolveWeightType(option: 'auto' | Int8Scheme, target: Target): Int8Scheme {
  return option === 'auto' ? TARGET_FORMS[target].weightType : option;
}

/** Per-row activation scales exist only in the qoperator form (DynamicQuantizeLinear has one scale). */
export function resolveActivations(option: 'auto' | 'tensor' | 'row', format: DynamicFormat): boolean {
  if (option === 'row' && format === 'qdq') throw new ConfigError("activations 'row' needs format qoperator: DynamicQuantizeLinear has one scale per tensor");
  return option === 'auto' ? format === 'qoperator' : option === 'row';
}

/** Why a chosen combination is risky on the target, if it is. */
export function weightTypeWarning(weightType: Int8Scheme, format: DynamicFormat, target: Target): string | undefined {
  if (weightType === 's8' && (target === 'cpu' || target === 'cuda')) {
    return 'full-range s8 weights: the CPU int8 kernels saturate on processors without VNNI (AVX2 only) and return wrong products there; weightType auto is exact everywhere';
  }
  if (weightType === 'u8' && format === 'qdq' && target === 'tensorrt') {
    return 'u8 weights carry zero points, which TensorRT does not accept (symmetric quantization only)';
  }
  return undefined;
}
