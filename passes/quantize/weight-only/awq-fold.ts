/**
 * Where activation-aware scaling puts the 1/s that keeps the float model unchanged. The scaled value x
 * (every reader of it is a scaled layer, or Shape, possibly through Reshapes that keep the last axis) is:
 *   norm output   LayerNormalization / RMS forms: x = n(y)·γ + β          -> γ/s, β/s
 *   Mul by const  x = y · c[K]  (RMSNorm as exported: weight · normalized)  -> c/s
 *   linear output x = y·W + b                                             -> W[:, j]/s_j, b_j/s_j
 *   gated product x = a ⊙ (y·W + b)  (SwiGLU: act(gate) ⊙ up)              -> the same, on the up projection
 * and otherwise a Mul by 1/s is inserted before the layers. Constants are edited only where nothing else
 * reads them.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import type { LinearLayer } from '../linear-layers.js';
import { columnReader } from '../../../src/math/blockwise.js';

export type FoldTarget =
  | { readonly kind: 'constants'; readonly node: Node; readonly inputs: readonly number[] }
  | { readonly kind: 'layer'; readonly layer: LinearLayer }
  | { readonly kind: 'mul' };

/** op (domain-qualified) -> [scale input, bias input]; all normalize over the last axis here. */
const NORMS: Readonly<Record<string, readonly number[]>> = {
  LayerNormalization: [1, 2],
  SimplifiedLayerNormalization: [1],
  RMSNormalization: [1],
  'com.microsoft.SkipLayerNormalization': [2, 3],
  'com.microsoft.SkipSimplifiedLayerNormalization': [2],
};

export function foldTarget(root: Value, k: number, linearByNode: ReadonlyMap<Node, LinearLayer>): FoldTarget {
  const node = root.producer;
  if (!node || node.outputs[0] !== root) return { kind: 'mul' };
  const norm = NORMS[node.domain ? `${node.domain}.${node.opType}` : node.opType];
  if (norm) {
    const lastAxis = node.getInt('axis', -1) === -1;
    const inputs = norm.filter((i) => node.inputs[i]);
    return lastAxis && inputs.every((i) => editableVector(node.inputs[i]!, k)) ? { kind: 'constants', node, inputs } : { kind: 'mul' };
  }
  const linear = linearByNode.get(node);
  if (linear) return editableLayer(linear, k) ? { kind: 'layer', layer: linear } : { kind: 'mul' };
  if (node.opType === 'Mul' && node.domain === '' && node.inputs.length === 2) {
    const c = node.inputs.findIndex((v) => v?.initializer);
    if (c >= 0) return editableVector(node.inputs[c]!, k) ? { kind: 'constants', node, inputs: [c] } : { kind: 'mul' };
    for (const operand of node.inputs) {
      const up = operand?.producer && linearByNode.get(operand.producer);
      if (up && operand.uses.length === 1 && !operand.isGraphOutput && editableLayer(up, k)) return { kind: 'layer', layer: up };
    }
  }
  return { kind: 'mul' };
}

/** A float constant read only here, with K elements along the last axis (other axes 1). */
function editableVector(v: Value, k: number): boolean {
  const t = v.initializer;
  return !!t && !v.isGraphInput && v.uses.length === 1 && t.dtype === DType.FLOAT && t.elementCount === k && t.dims[t.dims.length - 1] === k;
}

function editableLayer(l: LinearLayer, k: number): boolean {
  if (l.n !== k || l.weight.uses.length !== 1 || l.weight.isGraphInput) return false;
  if (!l.bias) return true;
  const t = l.bias.initializer;
  return !!t && !l.bias.isGraphInput && l.bias.uses.length === 1 && t.dtype === DType.FLOAT && t.elementCount === l.n;
}

/** Divides the target's channels by s; returns the inserted Mul's output when there was nothing to fold into. */
export function applyFold(model: Model, target: FoldTarget, s: Float32Array, layers: readonly LinearLayer[]): Value | undefined {
  if (target.kind === 'constants') {
    for (const i of target.inputs) {
      const t = target.node.input(i).initializer!;
      const data = Float32Array.from(t.toFloat32(), (v, j) => v / s[j]!);
      t.setBytes(new Uint8Array(data.buffer));
    }
    return undefined;
  }
  if (target.kind === 'layer') {
    scaleLayerColumns(target.layer, s);
    return undefined;
  }
  return insertMul(model, layers, s);
}

/** The layer's weight as [N][K] (the blockwise quantizer's column view). */
export function weightColumns(l: LinearLayer): Float32Array {
  const read = columnReader(l.weight.initializer!.toFloat32(), l.k, l.n, l.transposed);
  const out = new Float32Array(l.n * l.k);
  for (let c = 0; c < l.n; c++) read(c, out.subarray(c * l.k, (c + 1) * l.k));
  return out;
}

/** Weight rows (inputs) times s: W'[j, :] = s_j·W[j, :]. */
export function scaleLayerRows(l: LinearLayer, s: Float32Array): void {
  const t = l.weight.initializer!;
  const w = Float32Array.from(t.toFloat32());
  for (let j = 0; j < l.k; j++) for (let c = 0; c < l.n; c++) w[l.transposed ? c * l.k + j : j * l.n + c]! *= s[j]!;
  t.setBytes(new Uint8Array(w.buffer));
}

/** Weight columns (outputs) and bias divided by s. */
function scaleLayerColumns(l: LinearLayer, s: Float32Array): void {
  const t = l.weight.initializer!;
  const w = Float32Array.from(t.toFloat32());
  for (let j = 0; j < l.k; j++) for (let c = 0; c < l.n; c++) w[l.transposed ? c * l.k + j : j * l.n + c]! /= s[c]!;
  t.setBytes(new Uint8Array(w.buffer));
  const b = l.bias?.initializer;
  if (b) b.setBytes(new Uint8Array(Float32Array.from(b.toFloat32(), (v, c) => v / s[c]!).buffer));
}

/** One Mul(x, 1/s) per distinct layer input, placed before its first reader among the layers. */
function insertMul(model: Model, layers: readonly LinearLayer[], s: Float32Array): Value {
  const g = model.graph;
  const inverse = Float32Array.from(s, (v) => 1 / v);
  let last: Value | undefined;
  for (const x of new Set(layers.map((l) => l.node.input(0)))) {
    const readers = layers.filter((l) => l.node.input(0) === x);
    const first = readers.map((l) => l.node).sort((a, b) => g.nodes.indexOf(a) - g.nodes.indexOf(b))[0]!;
    const c = g.addConstant(`${x.name}_awq_inv_scale`, Tensor.fromTyped(`${x.name}_awq_inv_scale`, DType.FLOAT, [s.length], inverse));
    const mul = g.addNode({ opType: 'Mul', inputs: [x, c], before: first, name: model.freshNodeName(`${first.name || 'layer'}_awq_scale`) });
    for (const l of readers) l.node.setInput(0, mul.output(0));
    last = mul.output(0);
  }
  return last!;
}
