/**
 * Normalization layers, fused or written out:
 *   LayerNorm: d = x - ReduceMean(x); d / Sqrt(ReduceMean(d^2) + eps) * g (+ b)
 *   RMSNorm:   x * 1/Sqrt(ReduceMean(x^2) + eps) * g   (Div, Reciprocal or Pow(-0.5) for the inverse)
 *   fused:     LayerNormalization, SimplifiedLayerNormalization, RMSNormalization,
 *              SkipLayerNormalization, SkipSimplifiedLayerNormalization (the residual add inside)
 * The square may be Pow(v, 2) or Mul(v, v); Cast nodes between the steps (fp32 upcasts) are allowed.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { isConstant, scalarOf } from './constants.js';
import { weightOf } from './linear.js';
import { readers } from './walk.js';

export type NormKind = 'LayerNorm' | 'RMSNorm';

export interface Norm {
  readonly kind: NormKind;
  readonly form: 'fused' | 'decomposed';
  /** The fused op, or the distinct op types of the written-out form in order (`Pow/ReduceMean/…`). */
  readonly op: string;
  /** The activation being normalized (for Skip* ops: the first addend). */
  readonly input: Value;
  readonly output: Value;
  readonly nodes: readonly Node[];
  /** The residual add is part of the op (Skip*Normalization); `sum` is the stream value it also returns. */
  readonly skip: boolean;
  readonly sum: Value | undefined;
}

const FUSED: Readonly<Record<string, NormKind>> = {
  LayerNormalization: 'LayerNorm', SimplifiedLayerNormalization: 'RMSNorm', RMSNormalization: 'RMSNorm',
  SkipLayerNormalization: 'LayerNorm', SkipSimplifiedLayerNormalization: 'RMSNorm', EmbedLayerNormalization: 'LayerNorm',
};

export function findNorms(graph: Graph): Norm[] {
  const out: Norm[] = [];
  for (const node of graph.nodes) {
    const n = fusedNorm(node) ?? decomposedNorm(node);
    if (n) out.push(n);
  }
  return out;
}

function fusedNorm(node: Node): Norm | undefined {
  const kind = FUSED[node.opType];
  if (!kind || (node.domain !== '' && node.domain !== 'com.microsoft')) return undefined;
  const input = node.inputs[0];
  const output = node.outputs[0];
  if (!input || !output) return undefined;
  const skip = node.opType.startsWith('Skip');
  const op = node.domain ? `${node.domain}.${node.opType}` : node.opType;
  return { kind, form: 'fused', op, input, output, nodes: [node], skip, sum: skip ? node.outputs[3] ?? undefined : undefined };
}

/** Anchored on the variance: ReduceMean over a square. */
function decomposedNorm(mean: Node): Norm | undefined {
  if (mean.opType !== 'ReduceMean' || mean.domain !== '') return undefined;
  const squared = squareOf(mean.inputs[0]);
  if (!squared) return undefined;
  const centered = centeredInput(squared.base);
  const input = centered?.x ?? squared.base;
  const nodes: Node[] = [...(centered?.nodes ?? []), squared.node, mean];
  const variance = mean.outputs[0];
  const output = variance ? followToOutput(variance, nodes) : undefined;
  if (!output) return undefined;
  const op = [...new Set(nodes.filter((n) => n.opType !== 'Cast').map((n) => n.opType))].join('/');
  return { kind: centered ? 'LayerNorm' : 'RMSNorm', form: 'decomposed', op, input, output, nodes, skip: false, sum: undefined };
}

function squareOf(v: Value | null | undefined): { base: Value; node: Node } | undefined {
  const p = v?.producer;
  if (!p) return undefined;
  if (p.opType === 'Pow' && scalarOf(p.inputs[1]) === 2 && p.inputs[0]) return { base: p.inputs[0], node: p };
  if (p.opType === 'Mul' && p.inputs[0] && p.inputs[0] === p.inputs[1]) return { base: p.inputs[0], node: p };
  return undefined;
}

/** `x - ReduceMean(x)`, looking through a Cast on either side. */
function centeredInput(v: Value): { x: Value; nodes: Node[] } | undefined {
  const sub = v.producer;
  if (sub?.opType !== 'Sub') return undefined;
  const [x, m] = sub.inputs;
  const mean = m?.producer;
  if (!x || mean?.opType !== 'ReduceMean' || mean.inputs[0] !== x) return undefined;
  return { x, nodes: [mean, sub] };
}

const STATS = new Set(['Add', 'Sqrt', 'Reciprocal', 'Pow', 'Cast']);

/**
 * From the variance forward to the normalized (and scaled, shifted) output: eps, root, inverse, the
 * multiply or divide that normalizes, then Casts and constant scale/shift. Stops where the value fans out.
 */
function followToOutput(variance: Value, nodes: Node[]): Value | undefined {
  let v = variance;
  let normalized = false;
  for (let step = 0; step < 10; step++) {
    const users = readers(v);
    if (users.length !== 1 || v.isGraphOutput) break;
    const u = users[0]!;
    if (!normalized) {
      if (u.opType === 'Div' && u.inputs[1] === v && !isConstant(u.inputs[0])) normalized = true;
      else if (u.opType === 'Mul') normalized = true;
      else if (!STATS.has(u.opType) && !(u.opType === 'Div' && isConstant(u.inputs[0]))) return undefined;
    } else if (u.opType !== 'Cast' && !((u.opType === 'Mul' || u.opType === 'Add') && u.inputs.some((i) => weightOf(i)))) {
      break;
    }
    const out = u.outputs[0];
    if (!out) break;
    nodes.push(u);
    v = out;
  }
  return normalized ? v : undefined;
}
