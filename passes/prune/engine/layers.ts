/**
 * Prunable layers: linear layers with a constant float32 weight (see quantize/linear-layers.ts), plus
 *   MatMul(x, Transpose(W[N,K], perm=[1,0]))   the [out, in] weight behind a Transpose (dynamo exports)
 * and the bias that follows the product, which reconstruction refits:
 *   Gemm(x, W, C)                  y = α·x·W + β·C   -> bias row (β/α)·C
 *   Add(MatMul(x, W), b) / Add(b, MatMul(x, W)) with a constant b of N values   -> bias row b
 * Weights are read and written as N output columns of K values ([N][K], float64).
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { findLinearLayers, type LinearLayer, type LinearRejection } from '../../quantize/linear-layers.js';

export interface BiasTerm {
  readonly value: Value;
  /** The bias in units of x·W: stored × scale. */
  readonly scale: number;
}

export interface PrunableLayer extends LinearLayer {
  /** The Transpose node between the stored [N, K] weight and the product, if any. */
  readonly through: Node | undefined;
  readonly biasTerm: BiasTerm | undefined;
  /** Display name: the node's name or its output's. */
  readonly label: string;
}

export function findPrunableLayers(model: Model): { layers: PrunableLayer[]; rejected: LinearRejection[]; packedAttention: Node[] } {
  const { layers, rejected, packedAttention } = findLinearLayers(model);
  const out: PrunableLayer[] = layers.map((l) => ({ ...l, through: undefined, biasTerm: biasOf(l), label: labelOf(l.node) }));
  const still: LinearRejection[] = [];
  for (const r of rejected) {
    const behind = behindTranspose(r.node);
    if (behind) out.push(behind);
    else still.push(r);
  }
  const order = new Map(model.graph.nodes.map((n, i) => [n, i]));
  out.sort((a, b) => order.get(a.node)! - order.get(b.node)!);
  return { layers: out, rejected: still, packedAttention };
}

function labelOf(node: Node): string {
  return node.name || node.output(0).name;
}

function behindTranspose(node: Node): PrunableLayer | undefined {
  if (node.opType !== 'MatMul' || node.domain !== '') return undefined;
  const t = node.inputs[1]?.producer;
  if (!t || t.opType !== 'Transpose' || t.domain !== '') return undefined;
  const perm = t.getInts('perm');
  if (perm && (perm.length !== 2 || perm[0] !== 1 || perm[1] !== 0)) return undefined;
  const weight = t.inputs[0];
  const w = weight?.initializer;
  if (!weight || !w || w.dtype !== DType.FLOAT || w.dims.length !== 2 || weight.isGraphInput) return undefined;
  const base = { node, kind: 'matmul' as const, weight, transposed: true, k: w.dims[1]!, n: w.dims[0]!, bias: undefined, alpha: 1, beta: 1 };
  return { ...base, through: t, biasTerm: biasOf(base), label: labelOf(node) };
}

function biasOf(l: LinearLayer): BiasTerm | undefined {
  if (l.kind === 'gemm') {
    if (!l.bias || l.beta === 0 || l.alpha === 0 || !isBiasVector(l.bias, l.n)) return undefined;
    return { value: l.bias, scale: l.beta / l.alpha };
  }
  const y = l.node.output(0);
  if (y.uses.length !== 1 || y.isGraphOutput) return undefined;
  const add = y.uses[0]!.node;
  if (add.opType !== 'Add' || add.domain !== '') return undefined;
  const other = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
  return other && isBiasVector(other, l.n) ? { value: other, scale: 1 } : undefined;
}

/** A constant float32 of N values along the last axis, read by one node only. */
function isBiasVector(v: Value, n: number): boolean {
  const t = v.initializer;
  if (!t || t.dtype !== DType.FLOAT || v.isGraphInput || v.uses.length !== 1) return false;
  return t.elementCount === n && t.dims[t.dims.length - 1] === n;
}

/** Nodes reading the stored weight (through the Transpose when there is one): 1 unless it is shared. */
export function weightReaders(layer: PrunableLayer): number {
  const direct = layer.weight.uses.length;
  return layer.through ? direct - 1 + layer.through.output(0).uses.length : direct;
}

/** The weight as [N][K] float64. */
export function readColumns(layer: PrunableLayer): Float64Array {
  const w = layer.weight.initializer!.toFloat32();
  const { k, n } = layer;
  const out = new Float64Array(n * k);
  if (layer.transposed) for (let i = 0; i < out.length; i++) out[i] = w[i]!;
  else for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) out[c * k + r] = w[r * n + c]!;
  return out;
}

/** Stores [N][K] values back in the weight's own layout. */
export function writeColumns(layer: PrunableLayer, cols: Float64Array): void {
  const { k, n } = layer;
  const out = new Float32Array(n * k);
  if (layer.transposed) for (let i = 0; i < out.length; i++) out[i] = cols[i]!;
  else for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) out[r * n + c] = cols[c * k + r]!;
  const t = layer.weight.initializer!;
  t.setBytes(new Uint8Array(out.buffer));
}

/** The bias in units of x·W (N values), or undefined. */
export function readBias(layer: PrunableLayer): Float64Array | undefined {
  const b = layer.biasTerm;
  if (!b) return undefined;
  return Float64Array.from(b.value.initializer!.toFloat32(), (v) => v * b.scale);
}

export function writeBias(layer: PrunableLayer, bias: Float64Array): void {
  const b = layer.biasTerm!;
  const t = b.value.initializer!;
  t.setBytes(new Uint8Array(Float32Array.from(bias, (v) => v / b.scale).buffer));
}
