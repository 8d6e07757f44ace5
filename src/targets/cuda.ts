/**
 * onnxruntime's CUDA provider. Operator types from the CUDA section of onnxruntime's kernel table [OK];
 * quantized execution facts from the provider's issues and quantization docs [ORTQ].
 */
import type { ContribOp, FloatType, TargetProfile } from './types.js';

const ALL16: readonly FloatType[] = ['bfloat16', 'float32', 'float16'];
const HALF_ONLY: readonly FloatType[] = ['float16', 'bfloat16'];
const F32_F16: readonly FloatType[] = ['float32', 'float16'];
const GELU: readonly FloatType[] = ['bfloat16', 'float32', 'float16', 'float64'];

const table = (types: readonly FloatType[] | undefined, ops: readonly string[]): [string, ContribOp][] =>
  ops.map((op) => [op, types ? { types, source: 'OK' } : { source: 'OK' }]);

export const cudaProfile: TargetProfile = {
  target: 'cuda',
  provider: 'CUDAExecutionProvider',
  title: 'onnxruntime CUDA',
  // Opset and IR limits belong to onnxruntime's model loader, shared by every provider of one build.
  maxOpset: { value: 26, source: 'RF' },
  minOpset: { value: 7, source: 'ORTC' },
  maxIrVersion: { value: 13, source: 'RF' },
  domains: ['', 'com.microsoft'],
  contribOps: Object.fromEntries([
    ...table(ALL16, ['Attention', 'MultiHeadAttention', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'RotaryEmbedding', 'MatMulNBits', 'MatMulBnb4']),
    ...table(HALF_ONLY, ['GroupQueryAttention', 'PagedAttention', 'SparseAttention']),
    ...table(F32_F16, ['EmbedLayerNormalization', 'DecoderMaskedMultiHeadAttention', 'BiasSplitGelu', 'GroupNorm']),
    ...table(GELU, ['Gelu', 'FastGelu', 'BiasGelu', 'QuickGelu']),
    ...table(undefined, ['GatherBlockQuantized', 'MoE', 'QMoE', 'GemmFloat8', 'QAttention']),
  ]),
  otherContrib: { severity: 'error', reason: 'no CUDA kernel: the node runs on the CPU provider, with copies to and from the host', source: 'OK' },
  restrictedOps: {},
  computeTypes: ['float32', 'float16', 'bfloat16', 'float64'],
  preferredPrecision: 'float16',
  quant: {
    qoperator: { severity: 'error', reason: 'QOperator kernels have no CUDA implementation: the node falls back to the CPU provider with memcpy', source: 'ORT#12229' },
    dynamicActivations: { severity: 'error', reason: 'dynamic activation quantization runs on the host (copies to and from the GPU)', source: 'ORT#7745' },
    symmetricOnly: undefined,
    symmetricWeights: undefined,
    unsignedTypes: undefined,
    biasDq: undefined,
    channelAxis: undefined,
    constantScales: undefined,
    s8Saturation: undefined,
    qdqMatMulFusion: undefined,
  },
  forms: { blockwise: 'matmulnbits', attention: 'contrib', rotary: 'contrib', rmsNorm: 'contrib', gelu: 'contrib' },
  session: { graphOptimizationLevel: 'all', config: {} },
  providerOptions: {},
  notes: [
    'GroupQueryAttention, PagedAttention and SparseAttention have float16/bfloat16 kernels only [OK].',
    'DequantizeLinear-21 takes int4/uint4/int8/uint8 and DQ + MatMul is fused into MatMulNBits at load [OK].',
    'GPU int8 goes through the TensorRT provider (s8 x s8); the CUDA provider has no QOperator kernels [ORTQ].',
  ],
};
