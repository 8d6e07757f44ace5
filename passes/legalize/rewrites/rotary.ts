/**
 * Rotary embeddings in the target's form:
 *   com.microsoft RotaryEmbedding(x, pos, cos, sin)  ->  RotaryEmbedding-23(x, cos, sin, pos[B,S])
 *   either                                           ->  primitives: Gather(cos|sin, pos), rotate-half
 *                                                        (x1 c - x2 s, x2 c + x1 s) or interleaved pairs, pass-through tail
 * A one-element position input is an offset: positions offset .. offset+S-1.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import { Emitter, int, replaceNode } from './emit.js';
import { halves, positions, slice, unsqueeze } from './ops.js';
import { requireOpset } from './opset.js';
import type { Rewrite, RewriteContext } from './context.js';

export interface RotarySpec {
  readonly cos: Value;
  readonly sin: Value;
  /** int64 [B, S]. */
  readonly positions: Value;
  readonly interleaved: boolean;
  /** Heads of a 3-D input (0 = 4-D input [B, N, S, D]). */
  readonly heads: number;
  /** Rotated part of each head (0 = the whole head). */
  readonly rotaryDim: number;
}

const END = 2 ** 62;

/** Rotated width: the attribute, else twice the cache's last dim. */
function rotatedWidth(spec: RotarySpec): number | undefined {
  if (spec.rotaryDim) return spec.rotaryDim;
  const last = constantTensor(spec.cos)?.dims.at(-1) ?? spec.cos.type?.shape?.at(-1);
  return typeof last === 'number' ? 2 * last : undefined;
}

export function rotary(ctx: RewriteContext, e: Emitter, x: Value, spec: RotarySpec): Value | undefined {
  if (ctx.rotaryForm === 'opset23') {
    requireOpset(ctx.model, 23);
    return e.op('RotaryEmbedding', [x, spec.cos, spec.sin, spec.positions], {
      interleaved: int(spec.interleaved ? 1 : 0),
      ...(spec.heads ? { num_heads: int(spec.heads) } : {}),
      ...(spec.rotaryDim ? { rotary_embedding_dim: int(spec.rotaryDim) } : {}),
    });
  }
  return rotaryPrimitive(e, x, spec);
}

function rotaryPrimitive(e: Emitter, x: Value, spec: RotarySpec): Value | undefined {
  // A whole-head rotation needs no width: halves by Split, pairs by a reshape to [..., -1, 2].
  const r = spec.rotaryDim ? rotatedWidth(spec) : -1;
  if (r === undefined) return undefined;
  const fourD = spec.heads === 0;
  const xh = fourD ? x : e.op('Reshape', [x, e.i64('heads_shape', [0, 0, spec.heads, -1])]);
  const headAxis = fourD ? 1 : 2;
  const c = unsqueeze(e, e.op('Gather', [spec.cos, spec.positions]), [headAxis]);
  const s = unsqueeze(e, e.op('Gather', [spec.sin, spec.positions]), [headAxis]);
  const partial = spec.rotaryDim > 0;
  const xr = partial ? slice(e, xh, 0, r, 3) : xh;
  let rotated: Value;
  if (!spec.interleaved) {
    const [x1, x2] = partial ? [slice(e, xr, 0, r / 2, 3), slice(e, xr, r / 2, r, 3)] : halves(e, xr, 3);
    const o1 = e.op('Sub', [e.op('Mul', [x1, c]), e.op('Mul', [x2, s])]);
    const o2 = e.op('Add', [e.op('Mul', [x2, c]), e.op('Mul', [x1, s])]);
    rotated = e.op('Concat', [o1, o2], { axis: int(3) });
  } else {
    const pairs = e.op('Reshape', [xr, e.i64('pairs_shape', [0, 0, 0, partial ? r / 2 : -1, 2])]);
    const xe = slice(e, pairs, 0, 1, 4);
    const xo = slice(e, pairs, 1, 2, 4);
    const c5 = unsqueeze(e, c, [4]);
    const s5 = unsqueeze(e, s, [4]);
    const oe = e.op('Sub', [e.op('Mul', [xe, c5]), e.op('Mul', [xo, s5])]);
    const oo = e.op('Add', [e.op('Mul', [xo, c5]), e.op('Mul', [xe, s5])]);
    rotated = e.op('Reshape', [e.op('Concat', [oe, oo], { axis: int(4) }), e.i64('rot_shape', [0, 0, 0, partial ? r : -1])]);
  }
  const whole = partial ? e.op('Concat', [rotated, slice(e, xh, r, END, 3)], { axis: int(3) }) : rotated;
  return fourD ? whole : e.op('Reshape', [whole, e.i64('merge_shape', [0, 0, -1])]);
}

/** Positions [B, S] from a contrib position input: [B, S] as is, one element = an offset. */
function contribPositions(e: Emitter, x: Value, pos: Value, seqAxis: number): Value {
  const t = constantTensor(pos);
  const rank = pos.type?.shape?.length ?? t?.dims.length;
  if (rank === 2) return pos;
  const offset = e.op('Reshape', [pos, e.i64('scalar_shape', [], [0])]);
  return positions(e, x, seqAxis, offset);
}

function contribRotary(ctx: RewriteContext, node: Node): boolean {
  if (node.getFloat('scale', 1) !== 1 || node.getInt('is_packed_batching', 0)) { ctx.explain(node, 'scale or packed batching'); return false; }
  const x = node.input(0);
  const fourD = x.type?.shape?.length === 4;
  const heads = fourD ? 0 : node.getInt('num_heads', 0);
  if (!fourD && heads === 0) { ctx.explain(node, '3-D input without num_heads'); return false; }
  const e = new Emitter(node, ctx.types.get(x) ?? DType.FLOAT);
  const spec: RotarySpec = {
    cos: node.input(2), sin: node.input(3), positions: contribPositions(e, x, node.input(1), fourD ? 2 : 1),
    interleaved: node.getInt('interleaved', 0) === 1, heads, rotaryDim: node.getInt('rotary_embedding_dim', 0),
  };
  const y = rotary(ctx, e, x, spec);
  if (!y) { ctx.explain(node, 'rotary width unknown'); return false; }
  replaceNode(node, [y]);
  return true;
}

function standardRotary(ctx: RewriteContext, node: Node): boolean {
  const x = node.input(0);
  const fourD = x.type?.shape?.length === 4;
  const heads = fourD ? 0 : node.getInt('num_heads', 0);
  if ((!fourD && heads === 0) || !node.inputs[3]) { ctx.explain(node, 'needs num_heads and position ids'); return false; }
  const e = new Emitter(node, ctx.types.get(x) ?? DType.FLOAT);
  const y = rotaryPrimitive(e, x, {
    cos: node.input(1), sin: node.input(2), positions: node.input(3), interleaved: node.getInt('interleaved', 0) === 1,
    heads, rotaryDim: node.getInt('rotary_embedding_dim', 0),
  });
  if (!y) { ctx.explain(node, 'rotary width unknown'); return false; }
  replaceNode(node, [y]);
  return true;
}

export const rotaryRewrite: Rewrite = {
  name: 'rotary',
  applies: () => true,
  run(ctx) {
    for (const node of ctx.nodes('RotaryEmbedding', ['com.microsoft'])) if (ctx.rejectsOp(node) && contribRotary(ctx, node)) ctx.count('rotaries');
    if (ctx.rotaryForm !== 'primitive') return;
    for (const node of ctx.nodes('RotaryEmbedding')) if (standardRotary(ctx, node)) ctx.count('rotaries');
  },
};
