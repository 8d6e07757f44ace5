/**
 * onnxruntime's TensorRT provider. TensorRT parses standard ONNX only (contrib ops are partitioned out to
 * CUDA/CPU), quantizes symmetrically with build-time scales, and takes INT8/INT4/FP8 as quantized types
 * [TRTEP][TRT]. The parser's operator list [OTRT] names what it does not parse.
 */
import type { TargetProfile } from './types.js';

const NOT_STANDARD = 'onnxruntime registers this op in the ai.onnx domain, but it is not an ONNX operator: TensorRT cannot parse it';

export const tensorrtProfile: TargetProfile = {
  target: 'tensorrt',
  provider: 'TensorrtExecutionProvider',
  title: 'onnxruntime TensorRT',
  // Assumption: TensorRT 10.14+, whose parser takes the opset-23 Attention operator [TRTRN].
  maxOpset: { value: 23, source: 'assumption' },
  minOpset: { value: 9, source: 'TRTOG' },
  maxIrVersion: { value: 13, source: 'RF' },
  domains: [''],
  contribOps: undefined,
  otherContrib: { severity: 'error', reason: 'TensorRT takes no onnxruntime contrib op: the node is partitioned out to CUDA or CPU', source: 'TRTEP' },
  restrictedOps: {
    SimplifiedLayerNormalization: { severity: 'error', reason: NOT_STANDARD, source: 'ONNX' },
    RMSNormalization: { severity: 'warning', reason: 'not known to be parsed by TensorRT (assumption); primitives always are', source: 'assumption' },
    RotaryEmbedding: { severity: 'warning', reason: 'not known to be parsed by TensorRT (assumption); primitives always are', source: 'assumption' },
  },
  computeTypes: ['float32', 'float16', 'bfloat16'],
  preferredPrecision: 'float16',
  quant: {
    qoperator: { severity: 'error', reason: 'TensorRT parses no QOperator op (QLinearMatMul, QLinearConv, MatMulInteger, ConvInteger): use Q/DQ', source: 'OTRT' },
    dynamicActivations: { severity: 'error', reason: 'quantization scales must be build-time constants; DynamicQuantizeLinear is not parsed', source: 'TRT' },
    symmetricOnly: { severity: 'error', reason: 'TensorRT quantization is symmetric: zero points must be 0', source: 'TRT' },
    symmetricWeights: undefined,
    unsignedTypes: { severity: 'error', reason: 'TensorRT quantized types are INT8, INT4 (weights only) and FP8/FP4; uint8/uint4 are not', source: 'TRT' },
    biasDq: { severity: 'error', reason: 'a DequantizeLinear on a bias fails to parse ("only activation types allowed as input to this layer")', source: 'TRTEP' },
    channelAxis: { severity: 'warning', reason: 'per-channel weight scales go along the output channels (MatMul weight [K,N]: axis 1; Conv: 0; ConvTranspose: 1)', source: 'MO' },
    constantScales: { severity: 'error', reason: 'quantization scales must be build-time constants', source: 'TRT' },
    s8Saturation: undefined,
    qdqMatMulFusion: undefined,
  },
  forms: { blockwise: 'qdq', attention: 'opset23', rotary: 'primitive', rmsNorm: 'primitive', gelu: 'primitive' },
  session: { graphOptimizationLevel: 'all', config: {} },
  providerOptions: {},
  modelOptions: (f) => ({
    ...(f.float32Compute ? { trt_fp16_enable: true } : {}),
    ...(f.float32Compute && f.norms ? { trt_layer_norm_fp32_fallback: true } : {}),
    // Q/DQ models run in explicit precision: int8 on, no calibration table [TRTEP].
    ...(f.int8Qdq ? { trt_int8_enable: true } : {}),
    ...(f.sparse24 ? { trt_sparsity_enable: true } : {}),
    ...(f.shapes ? { trt_profile_min_shapes: f.shapes.min, trt_profile_opt_shapes: f.shapes.opt, trt_profile_max_shapes: f.shapes.max } : {}),
  }),
  notes: [
    'TensorRT subgraphs need every input shape: the sidecar carries trt_profile_min/opt/max_shapes [TRTEP].',
    'No calibration table with Q/DQ models (explicit precision) [TRTEP]; remaining float32 runs in fp16 with trt_fp16_enable [MO].',
    'Engines are not portable across GPU, TensorRT or onnxruntime versions [TRTEP].',
    'The opset-23 Attention operator needs TensorRT 10.14 or later [TRTRN]; older releases parse opset 20 at most [OTRT].',
  ],
};
