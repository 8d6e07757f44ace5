/**
 * Reading and changing the few weights the refit touches: an output projection's matrix (MatMul [K, N], or
 * Gemm with transB [N, K]) and a post norm's γ and β. A weight read by other nodes too gets its own copy
 * before it changes, so nothing else moves.
 */
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { Tensor } from '../ir/tensor.js';
import { DType } from '../ir/dtype.js';
import type { NormAffine, Projection } from './boundaries.js';
import type { PostNorm } from './stream-target.js';

export interface ProjectionWeight {
  /** The product and the input slot of its weight (the weight's own initializer may sit behind a Transpose). */
  readonly node: Node;
  readonly slot: number;
  readonly k: number;
  readonly n: number;
  /** Stored as [N, K] (Gemm transB, or a Transpose between the initializer and the product). */
  readonly transposed: boolean;
}

/**
 * The float matrix of a projection, or why it cannot be refit. Exporters write MatMul(x, W[K, N]),
 * Gemm(x, W[N, K], transB=1) or MatMul(x, Transpose(W[N, K])).
 */
export function projectionWeight(model: Model, p: Projection): ProjectionWeight | string {
  const node = model.graph.lookup(p.output)?.producer;
  if (!node) return `'${p.output}' is not computed by a node`;
  const gemm = node.opType === 'Gemm';
  if (gemm && (node.getInt('transA', 0) !== 0 || node.getFloat('alpha', 1) !== 1)) return `${node.describe()}: Gemm with transA or alpha is not refit`;
  const operand = node.inputs[1];
  const t = operand?.producer;
  const behindTranspose = t?.opType === 'Transpose' && (t.getInts('perm') ?? [1, 0]).join() === '1,0' && operand!.uses.length === 1 && !operand!.isGraphOutput;
  const w = behindTranspose ? t.inputs[0]?.initializer : operand?.initializer;
  if (!w || w.dtype !== DType.FLOAT || w.dims.length !== 2) return `${node.describe()}: the weight is not a float matrix initializer`;
  const transposed = behindTranspose !== (gemm && node.getInt('transB', 0) === 1);
  const [k, n] = transposed ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
  return behindTranspose ? { node: t, slot: 0, k, n, transposed } : { node, slot: 1, k, n, transposed };
}

/** W += ΔW, ΔW given as [K, N] row-major. */
export function addCorrection(model: Model, pw: ProjectionWeight, delta: Float64Array): void {
  const value = ownedInitializer(model, pw.node, pw.slot);
  const w = Float32Array.from(value.initializer!.toFloat32());
  for (let r = 0; r < pw.k; r++) {
    for (let c = 0; c < pw.n; c++) {
      const at = pw.transposed ? c * pw.k + r : r * pw.n + c;
      w[at]! += delta[r * pw.n + c]!;
    }
  }
  value.initializer!.setBytes(new Uint8Array(w.buffer));
}

export function readAffine(model: Model, a: NormAffine): PostNorm | undefined {
  const scale = model.graph.lookup(a.scale)?.initializer;
  const bias = a.bias ? model.graph.lookup(a.bias)?.initializer : undefined;
  if (scale?.dtype !== DType.FLOAT || (bias && bias.dtype !== DType.FLOAT)) return undefined;
  return { kind: a.kind, scale: scale.toFloat32(), bias: bias?.toFloat32() };
}

/** Gives the student's norm the teacher's γ and β (same shapes); false when they do not fit or are shared. */
export function copyAffine(student: Model, to: NormAffine, from: PostNorm): boolean {
  const scale = student.graph.lookup(to.scale);
  const bias = to.bias ? student.graph.lookup(to.bias) : undefined;
  const fits = (v: Value | undefined, data: Float32Array | undefined) =>
    !!v?.initializer && !!data && v.initializer.elementCount === data.length && v.uses.length === 1 && !v.isGraphOutput;
  if (!fits(scale, from.scale) || Boolean(bias) !== Boolean(from.bias) || (bias && !fits(bias, from.bias))) return false;
  scale!.initializer!.setBytes(new Uint8Array(Float32Array.from(from.scale).buffer));
  if (bias && from.bias) bias.initializer!.setBytes(new Uint8Array(Float32Array.from(from.bias).buffer));
  return true;
}

/** The initializer at `node.inputs[slot]`, copied first when other readers share it. */
function ownedInitializer(model: Model, node: Node, slot: number): Value {
  const value = node.inputs[slot]!;
  if (value.uses.length === 1 && !value.isGraphOutput && !value.isGraphInput) return value;
  const t = value.initializer!;
  const copy = model.graph.addConstant(`${value.name}_distilled`, Tensor.fromBytes(value.name, t.dtype, t.dims, new Uint8Array(t.bytes())));
  node.setInput(slot, copy);
  return copy;
}
