/**
 * What an attention core tells about its layer: the Q/K/V projections that feed it, heads and head size,
 * grouped-query attention (K/V narrower than Q) and rotary embeddings on the Q/K paths.
 *
 * Heads come, in order of trust, from the fused op's attributes, from the head split reshape on the path
 * (`Reshape(q, [b, s, H, D])`, H or D constant; H = width / D when only D is), or from the score scale
 * (1/sqrt(D)) with the projection width.
 */
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { AttentionCore } from './attention.js';
import type { Linear } from './linear.js';
import { constantNumbers, isConstant, scalarOf, shapeElements } from './constants.js';
import { walkBack } from './walk.js';

export interface AttentionInfo {
  readonly core: AttentionCore;
  readonly heads: number | undefined;
  readonly kvHeads: number | undefined;
  readonly headDim: number | undefined;
  /** K/V projections narrower than Q (fewer key/value heads than query heads). */
  readonly groupedQuery: boolean | undefined;
  readonly rope: boolean;
  /** A past key/value graph input is concatenated in, or wired to the fused op. */
  readonly kvCache: boolean;
  readonly q: readonly Linear[];
  readonly k: readonly Linear[];
  readonly v: readonly Linear[];
}

interface OperandPath {
  readonly nodes: Node[];
  readonly projections: Linear[];
  readonly width: number | undefined;
  readonly split: { heads: number | undefined; headDim: number | undefined };
}

export function describeAttention(core: AttentionCore, linears: ReadonlyMap<Node, Linear>, within?: ReadonlySet<Node>): AttentionInfo {
  const inside = core.projectionInside ? linears.get(core.node) : undefined;
  // With the projection inside the op, the operands are the hidden state: nothing to trace.
  const trace = (v: Value | undefined) => operandPath(inside ? undefined : v, linears, within);
  const q = trace(core.query);
  const k = core.key ? trace(core.key) : q;
  const v = core.value ? trace(core.value) : q;
  const widths = inside ? packedWidths(core, inside) : packedInput(core) ? packedInputWidths(core, q.width) : { q: q.width, k: k.width };
  const scaleDim = headDimFromScale(core.scale);
  const headDim = q.split.headDim ?? k.split.headDim ?? (core.heads && widths.q ? widths.q / core.heads : undefined) ?? scaleDim;
  const heads = core.heads ?? q.split.heads ?? divide(widths.q, headDim);
  const kvHeads = core.kvHeads ?? (core.key || inside ? k.split.heads ?? divide(widths.k, headDim) : heads);
  const groupedQuery = kvHeads !== undefined && heads !== undefined ? kvHeads < heads
    : widths.k !== undefined && widths.q !== undefined ? widths.k < widths.q : undefined;
  return {
    core, heads, kvHeads, headDim, groupedQuery,
    rope: core.rotary || hasRotary(q.nodes) || hasRotary(k.nodes),
    kvCache: core.past.some((p) => p.isGraphInput) || hasPastConcat(k.nodes) || hasPastConcat(v.nodes),
    q: inside ? [inside] : q.projections, k: inside ? [inside] : k.projections, v: inside ? [inside] : v.projections,
  };
}

function operandPath(start: Value | undefined, linears: ReadonlyMap<Node, Linear>, within?: ReadonlySet<Node>): OperandPath {
  if (!start) return { nodes: [], projections: [], width: undefined, split: { heads: undefined, headDim: undefined } };
  const walk = walkBack(start, { within, stop: (n) => linears.has(n) || n.opType === 'Softmax', limit: within ? 512 : 96 });
  const projections = walk.stops.map((n) => linears.get(n)).filter((l): l is Linear => !!l);
  const split = headSplit(walk.nodes, linears);
  // A projection's full width is the operand's only when nothing on the way takes a part of it.
  const whole = projections.length === 1 && !walk.nodes.some((n) => PARTS.has(n.opType)) ? projections[0]!.n : undefined;
  const width = split.width ?? featureWidth(start, linears) ?? whole;
  return { nodes: walk.nodes, projections, width, split };
}

const PARTS = new Set(['Split', 'Slice', 'Gather', 'Concat']);

/** The reshape nearest the projection whose target names the head size: [.., H, D]. */
function headSplit(nodes: readonly Node[], linears: ReadonlyMap<Node, Linear>): { heads: number | undefined; headDim: number | undefined; width: number | undefined } {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const r = nodes[i]!;
    if (r.opType !== 'Reshape') continue;
    const shape = shapeElements(r.inputs[1]);
    if (!shape || shape.length < 4) continue;
    const d = shape[shape.length - 1];
    const h = shape[shape.length - 2];
    if (typeof d !== 'number' || d <= 0) continue;
    const width = r.inputs[0] ? featureWidth(r.inputs[0], linears) : undefined;
    // [.., G, 1, D] splits key/value groups ready to be repeated: the count is the width's, not the 1.
    const named = typeof h === 'number' && h > 1 || (h === 1 && width === undefined) ? h : undefined;
    return { heads: named ?? divide(width, d), headDim: d, width };
  }
  return { heads: undefined, headDim: undefined, width: undefined };
}

/** com.microsoft Attention: qkv_hidden_sizes, or three equal parts of the packed weight. */
function packedWidths(core: AttentionCore, inside: Linear): { q: number | undefined; k: number | undefined } {
  const sizes = core.node.getInts('qkv_hidden_sizes');
  if (sizes && sizes.length === 3) return { q: sizes[0], k: sizes[1] };
  const third = inside.n !== undefined && inside.n % 3 === 0 ? inside.n / 3 : undefined;
  return { q: third, k: third };
}

/** A fused op given Q, K and V packed in its first input (GroupQueryAttention or MultiHeadAttention without a key). */
function packedInput(core: AttentionCore): boolean {
  return core.form === 'fused' && !core.projectionInside && !core.key && core.query !== undefined;
}

/** Q and K widths inside a packed [.., (heads + 2·kvHeads)·D] input. */
function packedInputWidths(core: AttentionCore, width: number | undefined): { q: number | undefined; k: number | undefined } {
  const heads = core.heads, kvHeads = core.kvHeads ?? core.heads;
  const d = heads && kvHeads ? divide(width, heads + 2 * kvHeads) : undefined;
  return { q: d && heads ? d * heads : undefined, k: d && kvHeads ? d * kvHeads : undefined };
}

/** Number of features of the last axis of a value, following it back to the layer that made it. */
export function featureWidth(v: Value, linears: ReadonlyMap<Node, Linear>, depth = 0): number | undefined {
  const p = v.producer;
  const declared = v.type?.shape?.at(-1);
  const fallback = typeof declared === 'number' ? declared : undefined;
  if (!p || depth > 8) return fallback;
  const l = linears.get(p);
  if (l) return l.n;
  const next = (x: Value | null | undefined) => (x ? featureWidth(x, linears, depth + 1) : fallback);
  switch (p.opType) {
    case 'Split': return splitWidth(p, v, linears, depth);
    case 'Slice': return sliceWidth(p, linears, depth);
    case 'Add': case 'Sub': case 'Mul': case 'Div':
      return next(p.inputs.find((x) => x && !isConstant(x)));
    case 'Cast': case 'Identity': case 'Relu': case 'Gelu': case 'Sigmoid': case 'Tanh': case 'Erf': case 'Neg':
    case 'DequantizeLinear': case 'QuantizeLinear': case 'RotaryEmbedding':
      return next(p.inputs[0]);
    case 'Reshape': {
      const last = shapeElements(p.inputs[1])?.at(-1);
      return typeof last === 'number' && last > 0 ? last : fallback;
    }
    default: return fallback;
  }
}

function splitWidth(split: Node, v: Value, linears: ReadonlyMap<Node, Linear>, depth: number): number | undefined {
  const sizes = constantNumbers(split.inputs[1]) ?? split.getInts('split');
  if (sizes && sizes.length === split.outputs.length) return sizes[v.producerIndex];
  const total = split.inputs[0] ? featureWidth(split.inputs[0], linears, depth + 1) : undefined;
  return divide(total, split.outputs.length);
}

/** Slice(x, [start], [end], [axis]) on a feature axis (not 0): end - start, clamped to the width of x. */
function sliceWidth(slice: Node, linears: ReadonlyMap<Node, Linear>, depth: number): number | undefined {
  const [starts, ends, axes] = [1, 2, 3].map((i) => constantNumbers(slice.inputs[i]));
  if (starts?.length !== 1 || ends?.length !== 1 || (axes && (axes.length !== 1 || axes[0] === 0))) return undefined;
  const total = slice.inputs[0] ? featureWidth(slice.inputs[0], linears, depth + 1) : undefined;
  if (total === undefined) return undefined;
  const clamp = (x: number) => Math.min(Math.max(x < 0 ? total + x : x, 0), total);
  const width = clamp(ends[0]!) - clamp(starts[0]!);
  return width > 0 ? width : undefined;
}

function headDimFromScale(scale: number | undefined): number | undefined {
  if (!scale || scale <= 0) return undefined;
  const d = 1 / (scale * scale);
  const r = Math.round(d);
  return r >= 1 && Math.abs(d - r) < 0.01 * r ? r : undefined;
}

function divide(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b ? (Number.isInteger(a / b) ? a / b : undefined) : undefined;
}

/**
 * Rotary embeddings on a Q/K path: a RotaryEmbedding op, or the rotate-half form
 * `x*cos + Concat(-x2, x1)*sin` (Neg, two products with non-scalar tables, Add or Sub).
 */
function hasRotary(nodes: readonly Node[]): boolean {
  if (nodes.some((n) => n.opType === 'RotaryEmbedding')) return true;
  const rotates = nodes.some((n) => n.opType === 'Neg' || n.opType === 'Sub');
  const tables = nodes.filter((n) => n.opType === 'Mul' && n.inputs.every((i) => scalarOf(i) === undefined)).length;
  return rotates && tables >= 2;
}

/** A Concat on the K/V path with a graph input among its operands: a past key/value cache. */
function hasPastConcat(nodes: readonly Node[]): boolean {
  return nodes.some((n) => n.opType === 'Concat' && n.inputs.some((i) => i?.isGraphInput));
}
