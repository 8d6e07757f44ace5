/**
 * onnxruntime's CPU provider (the npm build of onnxruntime-node 1.30). Everything here was run from Node on
 * AVX2 processors without VNNI [RF]; the contrib table lists the com.microsoft ops checked that way.
 */
import type { TargetProfile } from './types.js';

export const cpuProfile: TargetProfile = {
  target: 'cpu',
  provider: 'CPUExecutionProvider',
  title: 'onnxruntime CPU',
  maxOpset: { value: 26, source: 'RF' },
  minOpset: { value: 7, source: 'ORTC' },
  maxIrVersion: { value: 13, source: 'RF' },
  domains: ['', 'com.microsoft'],
  contribOps: Object.fromEntries([
    'MatMulNBits', 'Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'QAttention', 'SkipLayerNormalization',
    'SkipSimplifiedLayerNormalization', 'RotaryEmbedding', 'FastGelu', 'BiasGelu', 'Gelu', 'DynamicQuantizeMatMul',
    'MatMulIntegerToFloat',
  ].map((op) => [op, { source: 'RF' }])),
  otherContrib: { severity: 'warning', reason: 'not among the com.microsoft ops verified on the CPU provider', source: 'RF' },
  restrictedOps: {},
  // float16 runs (onnxruntime casts around ops without float16 kernels); bfloat16 has kernels for data movement only.
  computeTypes: ['float32', 'float16', 'float64'],
  preferredPrecision: 'float32',
  quant: {
    qoperator: undefined,
    dynamicActivations: undefined,
    symmetricOnly: undefined,
    symmetricWeights: undefined,
    unsignedTypes: undefined,
    biasDq: undefined,
    channelAxis: undefined,
    constantScales: undefined,
    s8Saturation: {
      severity: 'warning',
      reason: 'u8 activations x full-range s8 weights: AVX2 without VNNI saturates int16 pair sums (14-29 % error); 7-bit s8 or u8 weights are exact',
      source: 'RF',
    },
    qdqMatMulFusion: {
      severity: 'warning',
      reason: 'at optimization level extended or all, onnxruntime fuses DequantizeLinear(int4/int8 weight) -> MatMul into a kernel with int8 activations (accuracy_level 4) unless session.qdq_matmulnbits_accuracy_level is 0, which the sidecar sets',
      source: 'RF',
    },
  },
  forms: { blockwise: 'matmulnbits', attention: 'contrib', rotary: 'contrib', rmsNorm: 'contrib', gelu: 'contrib' },
  session: { graphOptimizationLevel: 'all', config: {} },
  providerOptions: {},
  notes: [
    'The CPU build of onnxruntime-node is the only provider usable from npm without extra installs [RF].',
    'Prefill is compute-bound (int8 helps, int4 does not); single-token decode is memory-bound (both help) [RF].',
  ],
};
