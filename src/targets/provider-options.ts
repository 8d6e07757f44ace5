/**
 * Provider and session options for a model on a target: the profile's defaults plus what the model asks
 * for through the profile's modelOptions (TensorRT precision flags and shape profiles), and the session
 * entry that keeps int4 Q/DQ exact where onnxruntime would fuse it with int8 activations.
 */
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import type { ModelFacts, OptionValue, TargetProfile } from './types.js';
import { DType } from '../ir/dtype.js';
import { constantTensor } from '../analysis/constants.js';
import { countNmViolations } from '../math/sparsity.js';
import { isStandard, qdqParams } from './qdq.js';
import { computeType, elementTypes } from './element-types.js';
import { trtShapeList, type InputRange } from './shape-ranges.js';

export interface RuntimeOptions {
  readonly provider: string;
  readonly providerOptions: Readonly<Record<string, OptionValue>>;
  readonly graphOptimizationLevel: TargetProfile['session']['graphOptimizationLevel'];
  readonly sessionConfig: Readonly<Record<string, string>>;
}

export function runtimeOptions(model: Model, profile: TargetProfile, ranges: readonly InputRange[]): RuntimeOptions {
  // Reading every weight for the sparsity pattern is only worth it where options depend on the model.
  const facts = modelFacts(model, ranges, profile.modelOptions !== undefined);
  const options: Record<string, OptionValue> = { ...profile.providerOptions, ...profile.modelOptions?.(facts) };
  const config: Record<string, string> = { ...profile.session.config };
  if (profile.quant.qdqMatMulFusion && (facts.int4Qdq || facts.int8Qdq)) config['session.qdq_matmulnbits_accuracy_level'] = '0';
  return { provider: profile.provider, providerOptions: options, graphOptimizationLevel: profile.session.graphOptimizationLevel, sessionConfig: config };
}

const LINEAR = new Set(['MatMul', 'Gemm', 'MatMulNBits', 'Conv']);
const NORMS = new Set(['LayerNormalization', 'RMSNormalization', 'SimplifiedLayerNormalization', 'ReduceMean']);

export function modelFacts(model: Model, ranges: readonly InputRange[], readWeights = true): ModelFacts {
  const types = elementTypes(model.graph);
  let float32Compute = false, int8Qdq = false, int4Qdq = false, norms = false;
  const linearWeights: { w: Tensor; k: number; n: number; transposed: boolean }[] = [];
  for (const node of model.graph.allNodes()) {
    if (NORMS.has(node.opType)) norms = true;
    if (isStandard(node, 'DequantizeLinear') || isStandard(node, 'QuantizeLinear')) {
      const t = isStandard(node, 'DequantizeLinear') ? constantTensor(node.inputs[0])?.dtype : qdqParams(node).quantType;
      if (t === DType.INT8 || t === DType.UINT8) int8Qdq = true;
      if (t === DType.INT4 || t === DType.UINT4) int4Qdq = true;
    }
    const w = constantTensor(node.inputs[1]);
    if ((isStandard(node, 'MatMul') || isStandard(node, 'Gemm')) && w?.dtype === DType.FLOAT && w.dims.length === 2) {
      const transposed = isStandard(node, 'Gemm') && node.getInt('transB', 0) === 1;
      const [k, n] = transposed ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
      linearWeights.push({ w, k, n, transposed });
    }
    if (LINEAR.has(node.opType) && computeType(node, types) === DType.FLOAT) float32Compute = true;
  }
  // 2:4 along K in every float linear weight (at least one): what sparse tensor cores need.
  const sparse24 = readWeights && linearWeights.length > 0
    && linearWeights.every((l) => countNmViolations(l.w.toFloat32(), l.k, l.n, l.transposed, { n: 2, m: 4 }) === 0);
  const dynamic = ranges.some((r) => r.shape.some((d) => typeof d !== 'number'));
  const shapes = dynamic ? { min: trtShapeList(ranges, 'min'), opt: trtShapeList(ranges, 'opt'), max: trtShapeList(ranges, 'max') } : undefined;
  return { float32Compute, int8Qdq, int4Qdq, sparse24, norms, shapes };
}
