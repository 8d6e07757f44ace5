/**
 * Which operators may compute in float16 or bfloat16, from which opset: the operator schemas' type
 * constraints, checked by loading single-node models in onnxruntime (its type check rejects a schema
 * violation at load, before any kernel lookup). An op absent from the table is never converted.
 *
 * onnxruntime's CPU provider has float16 kernels for few ops and inserts Casts to float32 around the others
 * by itself; it has no such fallback for bfloat16, and its CPU bfloat16 kernels cover only data movement,
 * Cast, Clip, Sign, IsNaN/IsInf and LayerNormalization: a bfloat16 model of a transformer does not load there.
 */
import type { Node } from '../../../src/ir/node.js';
import { DType } from '../../../src/ir/dtype.js';

export type LowType = typeof DType.FLOAT16 | typeof DType.BFLOAT16;

/** [float16 since, bfloat16 since]; undefined = not in any opset up to 26. */
type Since = readonly [number | undefined, number | undefined];

const MOVE: Since = [1, 13]; // data movement: every tensor type, bfloat16 listed from opset 13
const MATH: Since = [1, 13]; // arithmetic, reductions, activations that gained bfloat16 in opset 13
const LATE: Since = [1, 22]; // ops that gained bfloat16 only in opset 22

const ONNX: Readonly<Record<string, Since>> = {
  Identity: MOVE, Reshape: MOVE, Transpose: MOVE, Concat: MOVE, Split: MOVE, Slice: MOVE, Gather: MOVE,
  GatherElements: MOVE, GatherND: MOVE, Squeeze: MOVE, Unsqueeze: MOVE, Flatten: MOVE, Expand: MOVE, Tile: MOVE,
  Pad: MOVE, ScatterND: MOVE, ScatterElements: MOVE, DepthToSpace: MOVE, SpaceToDepth: MOVE, Dropout: MOVE,
  Constant: MOVE, Cast: MOVE, CastLike: [15, 15], Where: [9, 16], Trilu: [14, 14], ConstantOfShape: [9, 20],
  Add: MATH, Sub: MATH, Mul: MATH, Div: MATH, Neg: MATH, Abs: MATH, Sqrt: MATH, Reciprocal: MATH, Exp: MATH,
  Log: MATH, Tanh: MATH, Sigmoid: MATH, Relu: MATH, Erf: MATH, Floor: MATH, Ceil: MATH, Sign: MATH, Pow: MATH,
  Max: MATH, Min: MATH, Mean: MATH, Sum: MATH, Clip: MATH, Mod: MATH, Equal: MATH, Less: MATH, Greater: MATH,
  LessOrEqual: [12, 16], GreaterOrEqual: [12, 16], IsNaN: MATH, IsInf: [20, 20],
  Softmax: MATH, LogSoftmax: MATH, MatMul: MATH, Gemm: MATH, ArgMax: MATH, ArgMin: MATH,
  ReduceMean: MATH, ReduceSum: MATH, ReduceMax: MATH, ReduceMin: MATH, ReduceProd: MATH, ReduceL1: MATH,
  ReduceL2: MATH, ReduceSumSquare: MATH, ReduceLogSum: MATH, ReduceLogSumExp: MATH,
  CumSum: [11, 14], BatchNormalization: [1, 15], LeakyRelu: [1, 16], PRelu: [1, 16],
  LayerNormalization: [17, 17], Gelu: [20, 20], RMSNormalization: [23, 23], Attention: [23, 23], RotaryEmbedding: [23, 23],
  Sin: LATE, Cos: LATE, Tan: LATE, Asin: LATE, Acos: LATE, Atan: LATE, Sinh: LATE, Cosh: LATE, Asinh: LATE,
  Acosh: LATE, Atanh: LATE, Round: LATE, Softplus: LATE, Softsign: LATE, Elu: LATE, Selu: LATE, HardSigmoid: LATE,
  HardSwish: LATE, Mish: LATE, ThresholdedRelu: LATE, Conv: LATE, ConvTranspose: LATE, InstanceNormalization: LATE,
  AveragePool: LATE, MaxPool: LATE, GlobalAveragePool: LATE, GlobalMaxPool: LATE,
  Einsum: [12, undefined], TopK: [1, undefined],
  // onnxruntime registers this one in the ai.onnx domain (X: T, scale: V, both may be 16-bit).
  SimplifiedLayerNormalization: [1, 1],
  // Range: float/double/int only, no 16-bit floats in any opset.
};

/** onnxruntime contrib ops whose float inputs and outputs share one type T (version 1 of com.microsoft). */
const MICROSOFT: Readonly<Record<string, Since>> = {
  MatMulNBits: [1, 1], GroupQueryAttention: [1, 1], RotaryEmbedding: [1, 1], FastGelu: [1, 1], BiasGelu: [1, 1],
  Gelu: [1, 1], QuickGelu: [1, 1], MultiHeadAttention: [1, undefined], Attention: [1, undefined],
  SkipLayerNormalization: [1, undefined], SkipSimplifiedLayerNormalization: [1, undefined],
};

/** Outputs typed by a fixed float32 parameter (normalisation statistics), not by T. */
const FLOAT32_OUTPUTS: Readonly<Record<string, readonly number[]>> = {
  LayerNormalization: [1, 2], SimplifiedLayerNormalization: [1], SkipLayerNormalization: [1, 2], SkipSimplifiedLayerNormalization: [1, 2],
};

/** Ops that read their input whatever its float type (no Cast is ever needed in front of them). */
const ANY_INPUT = new Set(['Cast', 'Shape', 'Size']);

/** Why `node` cannot compute in `low` at this opset, or undefined when it can. */
export function unsupportedReason(node: Node, low: LowType, opset: number): string | undefined {
  const domain = node.domain === 'ai.onnx' ? '' : node.domain;
  const table = domain === '' ? ONNX : domain === 'com.microsoft' ? MICROSOFT : undefined;
  const name = low === DType.FLOAT16 ? 'float16' : 'bfloat16';
  if (!table) return `no known ${name} types in domain '${domain}'`;
  const known = table[node.opType];
  if (!known) return `no known ${name} form of ${node.opType}`;
  const since = known[low === DType.FLOAT16 ? 0 : 1];
  if (since === undefined) return `${node.opType} has no ${name} form`;
  if (domain === '' && opset < since) return `${node.opType} takes ${name} from opset ${since} (model: ${opset})`;
  return undefined;
}

/** Output `index` of a converted node carries the low type (false: it stays float32 by the op's definition). */
export function outputFollowsLow(node: Node, index: number): boolean {
  return !(FLOAT32_OUTPUTS[node.opType]?.includes(index) ?? false);
}

/** Input `index` accepts any float type, so its producer's precision never forces a Cast. */
export function inputIsAnyType(node: Node, index: number): boolean {
  return index === 0 && (ANY_INPUT.has(node.opType) || node.opType === 'CastLike');
}
