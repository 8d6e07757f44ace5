/**
 * Linear layers as analysis sees them: a matrix product of an activation with a constant weight, in any
 * of the forms exporters and quantizers write:
 *   MatMul(x, W) · Gemm(x, W, b) · MatMul(x, DequantizeLinear(Wq, s)) · MatMul(x, Cast(W16)) ·
 *   MatMul(x, Transpose(E)) (tied head) · MatMulNBits · MatMulInteger · QLinearMatMul ·
 *   DynamicQuantizeMatMul · MatMulIntegerToFloat · FusedMatMul · com.microsoft Attention (QKV inside)
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { dtypeName } from '../ir/dtype.js';
import { constantTensor } from './constants.js';

export interface Linear {
  readonly node: Node;
  /** Domain-qualified op type: `MatMul`, `com.microsoft.MatMulNBits`. */
  readonly op: string;
  readonly input: Value;
  readonly output: Value;
  /** Input features (K) and output features (N), where known. */
  readonly k: number | undefined;
  readonly n: number | undefined;
  /** The stored weight tensor (the packed or quantized one for quantized layers). */
  readonly weight: Tensor | undefined;
  /** How the weight is stored: `float`, `float16`, `4-bit MatMulNBits`, `int4 DequantizeLinear`, … */
  readonly format: string;
  readonly quantized: boolean;
}

export function qualifiedOp(node: Node): string {
  return node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
}

/** Every linear layer of a graph (not its subgraphs), keyed by node. */
export function findLinears(graph: Graph): Map<Node, Linear> {
  const out = new Map<Node, Linear>();
  for (const node of graph.nodes) {
    const l = asLinear(node);
    if (l) out.set(node, l);
  }
  return out;
}

/** Which input holds the weight, per op (default domain unless qualified). */
const WEIGHT_INPUT: Readonly<Record<string, number>> = {
  MatMul: 1, Gemm: 1, MatMulInteger: 1, QLinearMatMul: 3,
  'com.microsoft.FusedMatMul': 1, 'com.microsoft.DynamicQuantizeMatMul': 1,
  'com.microsoft.MatMulIntegerToFloat': 1, 'com.microsoft.Attention': 1, 'com.microsoft.QAttention': 1,
};

export function asLinear(node: Node): Linear | undefined {
  const op = qualifiedOp(node);
  const input = node.inputs[0];
  const output = node.outputs[0];
  if (!input || !output) return undefined;
  if (op === 'com.microsoft.MatMulNBits') return nbits(node, op, input, output);
  const at = WEIGHT_INPUT[op];
  if (at === undefined) return undefined;
  const w = weightOf(node.inputs[at]);
  if (!w || w.dims.length !== 2 || constantTensor(input)) return undefined;
  const transposed = (op === 'Gemm' || op === 'com.microsoft.FusedMatMul') && node.getInt('transB', 0) === 1;
  const [k, n] = transposed ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
  const integer = op !== 'MatMul' && op !== 'Gemm' && op !== 'com.microsoft.FusedMatMul' && !op.endsWith('Attention');
  const quantized = w.dequantized || integer || op === 'com.microsoft.QAttention';
  const format = `${dtypeName(w.tensor.dtype)}${w.dequantized ? ' DequantizeLinear' : integer ? ` ${node.opType}` : ''}`;
  return { node, op, input, output, k, n, weight: w.tensor, format, quantized };
}

function nbits(node: Node, op: string, input: Value, output: Value): Linear {
  const bits = node.getInt('bits', 4);
  return {
    node, op, input, output, k: node.getInt('K'), n: node.getInt('N'), weight: constantTensor(node.inputs[1]),
    format: `${bits}-bit MatMulNBits`, quantized: true,
  };
}

interface WeightView {
  readonly tensor: Tensor;
  /** Logical dims as the product reads them (after Transpose). */
  readonly dims: readonly number[];
  readonly dequantized: boolean;
}

/** Ops a constant weight may pass through before the product reads it. */
const WEIGHT_PATH = new Set(['Cast', 'Identity', 'Transpose', 'DequantizeLinear', 'Reshape', 'Squeeze', 'Unsqueeze']);

/** The constant behind a weight operand, with its logical dims; undefined for activations. */
export function weightOf(value: Value | null | undefined, depth = 0): WeightView | undefined {
  if (!value || depth > 6) return undefined;
  const t = constantTensor(value);
  if (t) return { tensor: t, dims: t.dims, dequantized: false };
  const p = value.producer;
  if (!p || !WEIGHT_PATH.has(p.opType) || (p.domain !== '' && p.domain !== 'com.microsoft')) return undefined;
  const inner = weightOf(p.inputs[0], depth + 1);
  if (!inner) return undefined;
  if (p.opType === 'Transpose') {
    const perm = p.getInts('perm') ?? inner.dims.map((_, i) => inner.dims.length - 1 - i);
    return { ...inner, dims: perm.map((i) => inner.dims[i] ?? 0) };
  }
  if (p.opType === 'Reshape' || p.opType === 'Squeeze' || p.opType === 'Unsqueeze') {
    const dims = value.type?.shape?.every((d) => typeof d === 'number') ? (value.type.shape as number[]) : inner.dims.filter((d) => d !== 1);
    return { ...inner, dims };
  }
  return { ...inner, dequantized: inner.dequantized || p.opType === 'DequantizeLinear' };
}
