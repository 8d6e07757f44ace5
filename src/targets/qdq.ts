/**
 * Facts about quantization nodes, shared by the checks and the legalize passes: Q/DQ parameters, which
 * DequantizeLinear feeds a weight or a bias, which ops are QOperator or dynamic.
 */
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';
import { constantTensor } from '../analysis/constants.js';
import { InvariantError } from '../errors.js';

/** Integer-kernel ops (the QOperator format), by qualified name. */
export const QOPERATOR_OPS: ReadonlySet<string> = new Set([
  'QLinearMatMul', 'QLinearConv', 'MatMulInteger', 'ConvInteger',
  'com.microsoft.QGemm', 'com.microsoft.QLinearAdd', 'com.microsoft.QLinearMul', 'com.microsoft.QLinearSigmoid',
  'com.microsoft.QLinearLeakyRelu', 'com.microsoft.QLinearConcat', 'com.microsoft.QLinearAveragePool',
  'com.microsoft.QLinearGlobalAveragePool', 'com.microsoft.QLinearSoftmax', 'com.microsoft.QLinearWhere',
  'com.microsoft.QAttention', 'com.microsoft.DynamicQuantizeMatMul', 'com.microsoft.MatMulIntegerToFloat',
]);

/** Ops that quantize activations with scales computed at run time. */
export const DYNAMIC_OPS: ReadonlySet<string> = new Set(['DynamicQuantizeLinear', 'com.microsoft.DynamicQuantizeMatMul']);

export function qualifiedName(node: Node): string {
  const d = node.domain === 'ai.onnx' ? '' : node.domain;
  return d ? `${d}.${node.opType}` : node.opType;
}

export const isStandard = (node: Node, op: string): boolean => node.opType === op && (node.domain === '' || node.domain === 'ai.onnx');

export interface QdqParams {
  readonly scale: Value;
  readonly zeroPoint: Value | null;
  /** The integer type: DQ input 0, Q zero point (uint8 by default). */
  readonly quantType: number | undefined;
  readonly blockSize: number;
  readonly axis: number;
  readonly scaleTensor: Tensor | undefined;
  readonly zeroPointTensor: Tensor | undefined;
}

/** Parameters of a QuantizeLinear or DequantizeLinear (standard domain). */
export function qdqParams(node: Node, typeOfInput: (v: Value) => number | undefined = (v) => v.type?.elemType ?? v.initializer?.dtype): QdqParams {
  const scale = node.input(1);
  const zeroPoint = node.inputs[2] ?? null;
  const zeroPointTensor = constantTensor(zeroPoint);
  let quantType: number | undefined;
  if (node.opType === 'DequantizeLinear') quantType = typeOfInput(node.input(0)) ?? zeroPointTensor?.dtype;
  else quantType = node.getInt('output_dtype') || zeroPointTensor?.dtype || (zeroPoint ? typeOfInput(zeroPoint) : DType.UINT8);
  return {
    scale, zeroPoint, quantType, blockSize: node.getInt('block_size', 0), axis: node.getInt('axis', 1),
    scaleTensor: constantTensor(scale), zeroPointTensor,
  };
}

/** True when some zero point is not 0 (unknown run-time zero points count as nonzero). */
export function hasNonzeroZeroPoint(p: QdqParams): boolean {
  if (!p.zeroPoint) return false;
  const t = p.zeroPointTensor;
  if (!t || !t.hasBytes) return true;
  return t.bytes().some((b) => b !== 0);
}

export const isUnsignedQuant = (t: number | undefined): boolean => t === DType.UINT8 || t === DType.UINT4 || t === DType.UINT16 || t === DType.UINT2;

/** A DequantizeLinear of a constant (a stored weight or bias). */
export function dequantizesConstant(node: Node): boolean {
  return isStandard(node, 'DequantizeLinear') && constantTensor(node.inputs[0]) !== undefined;
}

/** Readers that use `v` as a bias: Conv/ConvTranspose/Gemm input 2, or an Add after a MatMul/Gemm/Conv. */
export function readsAsBias(v: Value): boolean {
  return v.uses.some(({ node, index }) => {
    if (index === 2 && (isStandard(node, 'Conv') || isStandard(node, 'ConvTranspose') || isStandard(node, 'Gemm'))) return true;
    if (!isStandard(node, 'Add')) return false;
    const other = node.inputs[1 - index]?.producer;
    return !!other && ['MatMul', 'Gemm', 'Conv'].some((op) => isStandard(other, op));
  });
}

/** A DQ on a bias: int32 data (what quantizers write for biases) or a constant read only as a bias. */
export function isBiasDq(node: Node): boolean {
  if (!dequantizesConstant(node)) return false;
  const data = constantTensor(node.inputs[0])!;
  const out = node.outputs[0];
  return data.dtype === DType.INT32 || (!!out && out.uses.length > 0 && readsAsBias(out) && data.dims.length === 1);
}

/**
 * The output-channel axis of a weight read by `reader` at `index`, or undefined when the reader is not a
 * linear op (MatMul [K,N]: 1; Gemm: 0 when transB else 1; Conv: 0; ConvTranspose: 1).
 */
export function outputChannelAxis(reader: Node, index: number, rank: number): number | undefined {
  if (isStandard(reader, 'MatMul') && index === 1) return rank - 1;
  if (isStandard(reader, 'Gemm') && index === 1) return reader.getInt('transB', 0) ? 0 : 1;
  if (isStandard(reader, 'Conv') && index === 1) return 0;
  if (isStandard(reader, 'ConvTranspose') && index === 1) return 1;
  return undefined;
}

/** Integer values of an int8/uint8/int4/uint4 tensor (sign-extended for signed types). */
export function integerValues(t: Tensor): Int32Array {
  const bytes = t.bytes();
  const n = t.elementCount;
  const out = new Int32Array(n);
  if (t.dtype === DType.INT8) for (let i = 0; i < n; i++) out[i] = (bytes[i]! << 24) >> 24;
  else if (t.dtype === DType.UINT8) for (let i = 0; i < n; i++) out[i] = bytes[i]!;
  else if (t.dtype === DType.INT4 || t.dtype === DType.UINT4) {
    for (let i = 0; i < n; i++) {
      const nib = (bytes[i >> 1]! >> ((i & 1) * 4)) & 0x0f;
      out[i] = t.dtype === DType.INT4 && nib >= 8 ? nib - 16 : nib;
    }
  } else if (t.dtype === DType.INT32) out.set(t.toTyped() as Int32Array);
  else if (t.dtype === DType.INT16 || t.dtype === DType.UINT16) out.set(t.toTyped() as Int16Array);
  else throw new InvariantError(`tensor '${t.name}' is not of an integer quantized type (${t.dtype})`);
  return out;
}
