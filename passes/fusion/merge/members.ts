/**
 * One projection of an activation: y = x·W [+ b] with W a constant 2-D weight, written as
 *
 *   MatMul(x, W)                         W [K, N], or Transpose(W [N, K]) (dynamo)
 *   Add(MatMul(x, W), b)                 b a constant per-column bias; the Add taken in when only it reads x·W
 *   Gemm(x, W, b?) transA=0, alpha=beta=1, transB 0 or 1
 */
import type { Node } from '../../../src/ir/node.js';
import type { Tensor } from '../../../src/ir/tensor.js';
import type { Value } from '../../../src/ir/value.js';
import type { FactTable } from '../../../src/pattern/facts.js';
import { columnBias, constantOf, weightOf, type Found, type Weight } from './weights.js';

export interface Projection {
  readonly node: Node;
  readonly x: Value;
  readonly weight: Weight;
  readonly bias?: Tensor;
  /** The bias Add taken in with the MatMul, removed by the merge. */
  readonly biasAdd?: Node;
  /** What the merged graph must produce in place of this projection. */
  readonly output: Value;
}

/** The activation a MatMul or Gemm projects (its first input). */
export function activationOf(node: Node): Value | undefined {
  return node.inputs[0] ?? undefined;
}

/** The rank of x·W: that of x (at least 2), 2 for Gemm. */
function outputRank(node: Node, facts: FactTable): number | undefined {
  if (node.opType === 'Gemm') return 2;
  const r = facts.rank(node.inputs[0]);
  return r === undefined ? undefined : r === 1 ? 1 : r;
}

/** The Add that only adds a constant per-column bias to `y`, when nothing else reads `y`. */
function biasAddOf(y: Value, weight: Weight, rank: number | undefined): { add: Node; bias: Tensor } | undefined {
  if (y.uses.length !== 1 || y.isGraphOutput) return undefined;
  const add = y.uses[0]!.node;
  if (add.opType !== 'Add' || add.domain !== '' || add.inputs.length !== 2) return undefined;
  const other = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
  if (!other || other === y) return undefined;
  const found = columnBias(constantOf(other), weight.tensor.dtype, weight.n, rank);
  return 'ok' in found ? { add, bias: found.ok } : undefined;
}

function gemmProjection(node: Node, x: Value, facts: FactTable): Found<Projection> {
  if (node.getInt('transA', 0) !== 0) return { reason: 'Gemm reads x transposed (transA=1)' };
  if (node.getFloat('alpha', 1) !== 1 || (node.inputs[2] && node.getFloat('beta', 1) !== 1)) return { reason: 'Gemm has alpha or beta other than 1' };
  const w = node.inputs[1];
  if (!w) return { reason: 'Gemm has no weight' };
  const found = weightOf(w, node.getInt('transB', 0) === 1);
  if ('reason' in found) return found;
  const c = node.inputs[2];
  if (!c) return { ok: { node, x, weight: found.ok, output: node.output(0) } };
  const bias = columnBias(constantOf(c), found.ok.tensor.dtype, found.ok.n, outputRank(node, facts));
  if ('reason' in bias) return bias;
  return { ok: { node, x, weight: found.ok, bias: bias.ok, output: node.output(0) } };
}

function matMulProjection(node: Node, x: Value, facts: FactTable): Found<Projection> {
  const w = node.inputs[1];
  if (!w) return { reason: 'MatMul has no second input' };
  const found = weightOf(w, false);
  if ('reason' in found) return found;
  const y = node.output(0);
  const withBias = biasAddOf(y, found.ok, outputRank(node, facts));
  if (!withBias) return { ok: { node, x, weight: found.ok, output: y } };
  return { ok: { node, x, weight: found.ok, bias: withBias.bias, biasAdd: withBias.add, output: withBias.add.output(0) } };
}

/** The projection `node` computes, or why it is not one that can be merged. */
export function projectionOf(node: Node, facts: FactTable): Found<Projection> {
  const x = activationOf(node);
  if (!x) return { reason: `${node.opType} has no first input` };
  if (constantOf(x)) return { reason: 'the first input is a constant' };
  const found = node.opType === 'Gemm' ? gemmProjection(node, x, facts) : matMulProjection(node, x, facts);
  if ('reason' in found) return found;
  const last = facts.shape(x)?.at(-1)?.value;
  if (last !== undefined && last !== found.ok.weight.k) return { reason: `x has ${last} columns but the weight has K = ${found.ok.weight.k}` };
  return found;
}
