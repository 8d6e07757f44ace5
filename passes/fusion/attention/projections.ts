/**
 * The Q, K and V projections feeding an attention, when they can be packed into one weight:
 *
 *   separate:  q3 = x·Wq [+ bq],  k3 = x·Wk [+ bk],  v3 = x·Wv [+ bv]          (LLaMA, BERT)
 *   packed:    [q3, k3, v3] = Split(Reshape(Gemm(Reshape(x, [-1, h]), W, b)))   (GPT-2's Conv1D c_attn)
 *              or Split(x·W [+ b])
 *
 * -> x, W = [Wq | Wk | Wv] ([h, nq + nk + nv]) and b, built on demand for a fused operator that projects itself.
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Value } from '../../../src/ir/value.js';
import type { Capture } from '../../../src/pattern/match.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { dimEquals, numbers } from '../../../src/pattern/sym.js';
import type { Core } from './core.js';

export interface Projections {
  /** [B, S, h] */
  readonly x: Value;
  /** Widths of the Q, K and V parts. */
  readonly widths: readonly [number, number, number];
  /** Some part had a bias (otherwise the packed bias is all zeros and can be left out). */
  readonly hasBias: boolean;
  /** [h, nq + nk + nv] and [nq + nk + nv], as new initializers (or the packed originals). */
  build(graph: Graph): { weight: Value; bias: Value };
}

interface Part { readonly w: Value; readonly b?: Value; readonly transposed: boolean }

function f32(v: Value): Float32Array | undefined {
  const t = v.initializer;
  return t && t.dtype === DType.FLOAT ? t.toFloat32() : undefined;
}

/** x·W [+ b] with W a constant [h, n] (b a constant [n]). */
function linear(v: Value, m: Capture): { x: Value; part: Part } | undefined {
  const withBias = m.attempt(() => {
    const add = m.op(v, 'Add');
    return add && m.either(add, (y, b) => {
      const mm = m.source(b).initializer?.dims.length === 1 ? m.op(y, 'MatMul') : undefined;
      const w = mm && m.source(mm.inputs[1]!);
      return mm && w?.initializer?.dims.length === 2 ? { x: mm.inputs[0]!, part: { w, b: m.source(b), transposed: false } } : undefined;
    });
  });
  if (withBias) return withBias;
  const mm = m.op(v, 'MatMul');
  const w = mm && m.source(mm.inputs[1]!);
  return mm && w?.initializer?.dims.length === 2 ? { x: mm.inputs[0]!, part: { w, transposed: false } } : undefined;
}

/** Reshape(Gemm(Reshape(x, [-1, h]), W, b), [B, S, n]) -> x, W, b. */
function gemm(v: Value, m: Capture): { x: Value; part: Part } | undefined {
  const r = m.op(v, 'Reshape');
  const g = r && m.op(r.inputs[0], 'Gemm');
  const flat = g && m.op(g.inputs[0], 'Reshape');
  if (!r || !g || !flat) return undefined;
  if (g.getInt('transA', 0) !== 0 || g.getFloat('alpha', 1) !== 1 || g.getFloat('beta', 1) !== 1) return undefined;
  const x = flat.inputs[0]!;
  const xs = m.facts.shape(x), out = m.facts.shape(r.output(0));
  if (!xs || xs.length !== 3 || !out || out.length !== 3 || !dimEquals(xs[0], out[0]) || !dimEquals(xs[1], out[1])) return undefined;
  const w = m.source(g.inputs[1]!);
  const b = g.inputs[2] ? m.source(g.inputs[2]) : undefined;
  if (!w.initializer || w.initializer.dims.length !== 2 || (b && b.initializer?.dims.length !== 1)) return undefined;
  return { x, part: { w, ...(b ? { b } : {}), transposed: g.getInt('transB', 0) === 1 } };
}

export function matchProjections(core: Core, m: Capture): Projections | undefined {
  const [q3, k3, v3] = [core.q.heads.x3, core.k.heads.x3, core.v.heads.x3];
  const widths = [q3, k3, v3].map((v) => numbers(m.facts.shape(v)?.slice(2))?.[0]);
  if (widths.some((w) => w === undefined)) return undefined;
  const packed = m.attempt(() => {
    const split = m.op(q3, 'Split');
    if (!split || split.outputs.length !== 3 || split.outputs[0] !== q3 || split.outputs[1] !== k3 || split.outputs[2] !== v3) return undefined;
    if (m.axis(split, 0) !== 2) return undefined;
    return m.attempt(() => gemm(split.inputs[0]!, m)) ?? linear(split.inputs[0]!, m);
  });
  const separate = packed ? undefined : m.attempt(() => {
    const parts = [q3, k3, v3].map((v) => linear(v, m));
    if (parts.some((p) => !p) || !parts.every((p) => m.same(p!.x, parts[0]!.x))) return undefined;
    return parts as { x: Value; part: Part }[];
  });
  const parts = packed ? [packed] : separate;
  if (!parts) return undefined;
  const x = parts[0]!.x;
  if (m.facts.rank(x) !== 3 || parts.some((p) => !f32(p.part.w) || (p.part.b && !f32(p.part.b)))) return undefined;
  const hasBias = parts.some((p) => p.part.b);
  return { x, widths: widths as [number, number, number], hasBias, build: (graph) => pack(graph, parts.map((p) => p.part)) };
}

/** Concatenates [h, n_i] weights along the columns (transposing [n_i, h] ones) and their biases. */
function pack(graph: Graph, parts: readonly Part[]): { weight: Value; bias: Value } {
  const mats = parts.map((p) => {
    const t = p.w.initializer!;
    const [r, c] = t.dims as [number, number];
    return { data: f32(p.w)!, rows: p.transposed ? c : r, cols: p.transposed ? r : c, transposed: p.transposed };
  });
  const h = mats[0]!.rows;
  const n = mats.reduce((s, x) => s + x.cols, 0);
  const w = new Float32Array(h * n);
  let offset = 0;
  for (const mat of mats) {
    for (let i = 0; i < h; i++) for (let j = 0; j < mat.cols; j++) w[i * n + offset + j] = mat.transposed ? mat.data[j * h + i]! : mat.data[i * mat.cols + j]!;
    offset += mat.cols;
  }
  const b = new Float32Array(n);
  offset = 0;
  parts.forEach((p, i) => {
    if (p.b) b.set(f32(p.b)!, offset);
    offset += mats[i]!.cols;
  });
  const weight = graph.addConstant('qkv_weight', Tensor.fromTyped('qkv_weight', DType.FLOAT, [h, n], w));
  const bias = graph.addConstant('qkv_bias', Tensor.fromTyped('qkv_bias', DType.FLOAT, [n], b));
  return { weight, bias };
}
