/**
 * onnxruntime's OpenVINO provider: plain ONNX with onnxruntime's graph optimizations off [OVEP], int8 in
 * NNCF's CPU quantization space (u8/s8 activations, symmetric narrow-range s8 weights per channel) [NN],
 * compressed weights as DequantizeLinear(block_size) at opset 21 [NN].
 */
import type { TargetProfile } from './types.js';

const NOT_STANDARD = 'onnxruntime registers this op in the ai.onnx domain, but it is not an ONNX operator';

export const openvinoProfile: TargetProfile = {
  target: 'openvino',
  provider: 'OpenVINOExecutionProvider',
  title: 'onnxruntime OpenVINO',
  // Assumption: the opset NNCF writes compressed weights in (DequantizeLinear-21) is the newest relied on.
  maxOpset: { value: 21, source: 'assumption' },
  minOpset: { value: 7, source: 'assumption' },
  maxIrVersion: { value: 13, source: 'RF' },
  domains: [''],
  contribOps: undefined,
  otherContrib: { severity: 'error', reason: 'the OpenVINO provider takes the plain ONNX graph, without com.microsoft fused ops', source: 'OVEP' },
  restrictedOps: {
    'com.microsoft.MatMulNBits': { severity: 'warning', reason: 'the OpenVINO ONNX frontend reads MatMulNBits, but the provider is meant for plain ONNX: DequantizeLinear(block_size) is the portable form', source: 'NN' },
    GatherElements: { severity: 'error', reason: 'GatherElements is not supported by the OpenVINO provider', source: 'OVEP' },
    SimplifiedLayerNormalization: { severity: 'error', reason: NOT_STANDARD, source: 'ONNX' },
  },
  computeTypes: ['float32', 'float16'],
  preferredPrecision: 'float32',
  quant: {
    qoperator: { severity: 'warning', reason: 'MatMulInteger and QLinearMatMul run on the CPU device only (GPU/NPU fall back); Q/DQ runs everywhere', source: 'OVEP' },
    dynamicActivations: undefined,
    symmetricOnly: undefined,
    symmetricWeights: { severity: 'warning', reason: 'OpenVINO int8 weights are signed, symmetric and narrow-range per channel; other forms are not fused into int8 kernels', source: 'NN' },
    unsignedTypes: undefined,
    biasDq: undefined,
    channelAxis: undefined,
    constantScales: undefined,
    s8Saturation: undefined,
    qdqMatMulFusion: undefined,
  },
  forms: { blockwise: 'qdq', attention: 'primitive', rotary: 'primitive', rmsNorm: 'primitive', gelu: 'primitive' },
  session: { graphOptimizationLevel: 'disabled', config: {} },
  providerOptions: { device_type: 'CPU' },
  notes: [
    'Create the session with graph optimizations disabled (ORT_DISABLE_ALL) [OVEP].',
    'CPU computes in FP32 (an f16 hint is upcast); GPU takes FP32/FP16, NPU FP16 [OVEP].',
    'NPU: enable_qdq_optimizer keeps Q/DQ only on supported ops; dynamic dims need reshape_input bounds [OVEP].',
    'Weight compression INT8/INT4, symmetric or not, as DequantizeLinear(block_size); the NPU fast path is symmetric INT4 per channel [NN].',
  ],
};
