/**
 * What each execution provider accepts for static int8, as data (docs/ep-rules facts):
 *   cpu       u8 activations; weights in a form that stays exact when ORT fuses QDQ into integer kernels
 *             (u8 × full-range s8 saturates int16 on AVX2 CPUs without VNNI: 14–29 % error): u8 weights
 *             (256 levels), or 7-bit s8 beside s8 activations (|products| stay below 2^15 in any kernel)
 *   cuda      s8 × s8 only (ORT's GPU int8 path goes through TensorRT)
 *   tensorrt  symmetric only: s8 activations and weights, zero points 0
 *   openvino  u8 activations, narrow-range symmetric s8 weights
 */
import type { Target } from '../../../src/pipeline/pass.js';
import type { WeightType } from './weight-quant.js';

export interface IntegerRules {
  readonly activationSymmetric: boolean;
  /** The weight type 'auto' stands for, given the activation form. */
  weightType(activationSymmetric: boolean): WeightType;
  /** Weight types the provider takes, for a warning when the user asks for another. */
  readonly weightTypes: readonly WeightType[];
  readonly symmetricOnly: boolean;
  /** Gemm bias as int32 DequantizeLinear (onnxruntime's QGemm form); TensorRT rejects quantized biases. */
  readonly quantizeBias: boolean;
}

export const INTEGER_RULES: Readonly<Record<Target, IntegerRules>> = {
  cpu: { activationSymmetric: false, weightType: (symmetric) => (symmetric ? 's8-reduced' : 'u8'), weightTypes: ['u8', 's8-reduced', 's8'], symmetricOnly: false, quantizeBias: true },
  cuda: { activationSymmetric: true, weightType: () => 's8', weightTypes: ['s8', 's8-reduced'], symmetricOnly: true, quantizeBias: false },
  tensorrt: { activationSymmetric: true, weightType: () => 's8', weightTypes: ['s8', 's8-reduced'], symmetricOnly: true, quantizeBias: false },
  openvino: { activationSymmetric: false, weightType: () => 's8', weightTypes: ['s8', 's8-reduced'], symmetricOnly: false, quantizeBias: false },
};
