/**
 * SmoothQuant: move activation outliers into the weights before quantizing. For a group of layers reading
 * X, per input channel j:  s_j = max|X_j|^α / max|W_j|^(1−α),  X·W = (X / s)·(s·W).
 * W's rows are multiplied by s. 1/s is folded into the producer of X where that is exact:
 *
 *   LayerNormalization(x, γ, β) [─▶ Reshape]* ─▶ X            γ/s, β/s
 *   Mul(a, γ) [─▶ Add(·, β)]* [─▶ Reshape]* ─▶ X              γ/s, β/s   (decomposed RMSNorm/LayerNorm)
 *
 * where each value on the way is read only by the next node, Shape nodes, or (X) the group's layers; the
 * layers reading one norm output (q/k/v) therefore share one s. Otherwise a Mul(X, 1/s) goes in front
 * of the group.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import type { LinearLayer } from '../linear-layers.js';
import type { ActivationGroup } from './select.js';
import { earliest } from './emit-qdq.js';
import { dropIfUnused } from './epilogue.js';

export type SmoothOutcome = 'folded' | 'inserted' | 'skipped';

/** s per channel; channels with no signal on either side keep 1, and s stays within [1e-5, 1e5]. */
export function smoothingScales(activationMax: Float32Array, weightMax: Float32Array, alpha: number): Float32Array {
  return Float32Array.from(activationMax, (a, j) => {
    const w = weightMax[j]!;
    if (!(a > 0) || !(w > 0)) return 1;
    const s = a ** alpha / w ** (1 - alpha);
    return Number.isFinite(s) ? Math.min(1e5, Math.max(1e-5, s)) : 1;
  });
}

/** max |W[j, :]| over every layer of the group, per input channel j. */
export function weightRowMax(layers: readonly LinearLayer[]): Float32Array {
  const k = layers[0]!.k;
  const out = new Float32Array(k);
  for (const l of layers) {
    const w = l.weight.initializer!.toFloat32();
    for (let i = 0; i < w.length; i++) {
      const j = l.transposed ? i % k : Math.floor(i / l.n);
      const a = Math.abs(w[i]!);
      if (a > out[j]!) out[j] = a;
    }
  }
  return out;
}

/** Smooths one group: rescales its weights and divides its input by s (folded or through a Mul). */
export function smoothGroup(model: Model, group: ActivationGroup, activationMax: Float32Array, alpha: number): SmoothOutcome {
  const k = group.layers[0]!.k;
  if (activationMax.length !== k || group.layers.some((l) => l.k !== k)) return 'skipped';
  const s = smoothingScales(activationMax, weightRowMax(group.layers), alpha);
  for (const layer of group.layers) scaleWeightRows(model, layer, s);
  const edits = foldPlan(group.input, k, new Set(group.layers.map((l) => l.node)));
  const inverse = Float32Array.from(s, (v) => 1 / v);
  if (edits) {
    for (const e of edits) divideConstant(model, e, s);
    return 'folded';
  }
  const g = model.graph;
  const readers = group.layers.map((l) => l.node);
  const factor = g.addConstant(`${group.input.name}_smooth`, Tensor.fromTyped(`${group.input.name}_smooth`, DType.FLOAT, [k], inverse));
  const mul = g.addNode({ opType: 'Mul', name: model.freshNodeName(`${group.input.name}_smooth`), inputs: [group.input, factor], before: earliest(readers) });
  for (const node of readers) node.setInput(0, mul.output(0));
  group.input = mul.output(0);
  return 'inserted';
}

interface ConstantEdit {
  readonly node: Node;
  readonly index: number;
}

/** The constants to divide by s so that X comes out divided by s, or undefined when none does it exactly. */
function foldPlan(x: Value, k: number, layers: ReadonlySet<Node>): ConstantEdit[] | undefined {
  const onlyReaders = (v: Value, allowed: ReadonlySet<Node>) => !v.isGraphOutput && v.uses.every((u) => allowed.has(u.node) || u.node.opType === 'Shape');
  let v = x;
  let allowed = layers;
  // Reshapes keep the flat element order; with K last on both ends, channel j stays channel j.
  while (v.producer && ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity'].includes(v.producer.opType) && v.producer.domain === '') {
    if (!onlyReaders(v, allowed)) return undefined;
    allowed = new Set([v.producer]);
    v = v.producer.input(0);
  }
  const edits: ConstantEdit[] = [];
  for (;;) {
    const p = v.producer;
    if (!p || p.domain !== '' || !onlyReaders(v, allowed)) return undefined;
    if (p.opType === 'LayerNormalization') {
      if (!perChannel(p.inputs[1], k) || (p.inputs[2] && !perChannel(p.inputs[2], k))) return undefined;
      edits.push({ node: p, index: 1 });
      if (p.inputs[2]) edits.push({ node: p, index: 2 });
      return edits;
    }
    if (p.opType !== 'Mul' && p.opType !== 'Add') return undefined;
    const c = perChannel(p.inputs[0], k) ? 0 : perChannel(p.inputs[1], k) ? 1 : -1;
    if (c < 0 || p.inputs[1 - c]?.initializer) return undefined;
    edits.push({ node: p, index: c });
    if (p.opType === 'Mul') return edits;
    // (a + β)/s = a/s + β/s: keep walking to what produces a.
    allowed = new Set([p]);
    v = p.input(1 - c);
  }
}

/** A float32 constant of K values along the last axis ([K] or [1, …, 1, K]). */
function perChannel(v: Value | null | undefined, k: number): boolean {
  const t = v?.initializer;
  if (!v || !t || v.isGraphInput || t.dtype !== DType.FLOAT) return false;
  return t.dims.length >= 1 && t.dims[t.dims.length - 1] === k && t.elementCount === k;
}

/** The node reads a new constant c/s (the old one may have other readers). */
function divideConstant(model: Model, edit: ConstantEdit, s: Float32Array): void {
  const old = edit.node.input(edit.index);
  const t = old.initializer!;
  const data = Float32Array.from(t.toFloat32(), (v, j) => v / s[j]!);
  const fresh = model.graph.addConstant(`${old.name}_smoothed`, Tensor.fromTyped(`${old.name}_smoothed`, DType.FLOAT, t.dims, data));
  edit.node.setInput(edit.index, fresh);
  dropIfUnused(model, old);
}

/** W[j, :] ·= s_j (rows of a [K, N] weight, columns of a transposed [N, K] one); a new constant. */
function scaleWeightRows(model: Model, layer: LinearLayer, s: Float32Array): void {
  const old = layer.weight;
  const t = old.initializer!;
  const k = layer.k;
  const data = Float32Array.from(t.toFloat32(), (v, i) => v * s[layer.transposed ? i % k : Math.floor(i / layer.n)]!);
  const fresh = model.graph.addConstant(`${old.name}_smoothed`, Tensor.fromTyped(`${old.name}_smoothed`, DType.FLOAT, t.dims, data));
  layer.node.setInput(1, fresh);
  dropIfUnused(model, old);
}
