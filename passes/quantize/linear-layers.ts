/**
 * Linear layers: matrix products with a constant float weight, the unit that quantization and pruning
 * work on. MatMul(x, W[K,N]) and Gemm(x, W, C) with transA=0 (W [K,N], or [N,K] with transB=1).
 */
import type { Model } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { DType } from '../../src/ir/dtype.js';
import type { PassContext } from '../../src/pipeline/pass.js';

export interface LinearLayer {
  readonly node: Node;
  readonly kind: 'matmul' | 'gemm';
  readonly weight: Value;
  /** Stored [N, K] (Gemm transB=1) rather than [K, N]. */
  readonly transposed: boolean;
  readonly k: number;
  readonly n: number;
  /** Gemm's C input, when present. */
  readonly bias: Value | undefined;
  readonly alpha: number;
  readonly beta: number;
}

export interface LinearRejection {
  readonly node: Node;
  readonly reason: string;
}

/**
 * Every linear layer of the main graph, plus the reasons other MatMul/Gemm nodes were not taken, and the
 * com.microsoft Attention nodes whose packed float Q/K/V weight no quantization mode takes.
 */
export function findLinearLayers(model: Model): { layers: LinearLayer[]; rejected: LinearRejection[]; packedAttention: Node[] } {
  const layers: LinearLayer[] = [];
  const rejected: LinearRejection[] = [];
  const packedAttention: Node[] = [];
  for (const node of model.graph.nodes) {
    if (node.domain === 'com.microsoft' && node.opType === 'Attention' && node.inputs[1]?.initializer?.dtype === DType.FLOAT) {
      packedAttention.push(node);
      rejected.push({ node, reason: 'the packed Q/K/V weight inside com.microsoft Attention is not a MatMul/Gemm weight' });
      continue;
    }
    if (node.domain !== '' || (node.opType !== 'MatMul' && node.opType !== 'Gemm')) continue;
    const result = asLinear(node);
    if (typeof result === 'string') rejected.push({ node, reason: result });
    else layers.push(result);
  }
  return { layers, rejected, packedAttention };
}

function asLinear(node: Node): LinearLayer | string {
  const weight = node.inputs[1];
  const t = weight?.initializer;
  if (!weight || !t) return 'the second operand is not a constant weight';
  if (t.dtype !== DType.FLOAT) return `the weight is ${t.dtype === DType.FLOAT16 ? 'float16' : `dtype ${t.dtype}`}, not float32`;
  if (t.dims.length !== 2) return `the weight has rank ${t.dims.length}, not 2`;
  if (weight.isGraphInput) return 'the weight is also a graph input (overridable)';
  if (node.opType === 'MatMul') {
    return { node, kind: 'matmul', weight, transposed: false, k: t.dims[0]!, n: t.dims[1]!, bias: undefined, alpha: 1, beta: 1 };
  }
  if (node.getInt('transA', 0) !== 0) return 'Gemm with transA=1';
  const transposed = node.getInt('transB', 0) === 1;
  const [k, n] = transposed ? [t.dims[1]!, t.dims[0]!] : [t.dims[0]!, t.dims[1]!];
  return {
    node, kind: 'gemm', weight, transposed, k, n,
    bias: node.inputs[2] ?? undefined,
    alpha: node.getFloat('alpha', 1),
    beta: node.getFloat('beta', 1),
  };
}

/** Tells the user, in one line, when fused attention keeps its weight out of reach: the other order reaches it. */
export function warnPackedAttention(ctx: Pick<PassContext, 'warn'>, pass: string, nodes: readonly Node[], verb: 'quantize' | 'prune'): void {
  if (!nodes.length) return;
  const [subject, object] = nodes.length === 1 ? ['node keeps its', 'it'] : ['nodes keep their', 'them'];
  ctx.warn(`${pass}: ${nodes.length} com.microsoft Attention ${subject} packed Q/K/V weight unchanged; ${verb} before \`--preset fuse\` to ${verb} ${object} too`);
}
