/**
 * Where each transformer block meets the residual stream, by value name (names survive cloning a model and
 * removing other blocks; handles do not):
 *
 *   h_in ──┬──────────────────────────┐
 *          └─ [norm] ─ attention ─ o ─ Add ─ [post norm] ─ h_mid ─┬────────────────────────┐
 *                                                                  └─ [norm] ─ mlp ─ down ─ Add ─ [post norm] ─ h_out
 *
 * `input` is the stream entering the block, `output` the stream leaving it (after the post norm in post-norm
 * models). Per sublayer: the stream after it, the residual sum before a post norm, the output projection
 * whose result is added to the stream (found by walking back from the join through bias Adds, Reshapes and
 * Casts), and the post norm's scale and shift.
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { detectTransformer, type Norm, type Sublayer, type TransformerBlock, type TransformerStructure } from '../analysis/transformer.js';
import { isConstant } from '../analysis/constants.js';
import { PreconditionError } from '../errors.js';

export interface NormAffine {
  readonly kind: Norm['kind'];
  /** Initializer names of γ and β (β absent for RMSNorm or a LayerNorm without shift). */
  readonly scale: string;
  readonly bias: string | undefined;
}

export interface Projection {
  /** The product's output value (its node is the value's producer). */
  readonly output: string;
  /** The activation it multiplies. */
  readonly input: string;
}

export interface SublayerBoundary {
  readonly kind: 'attention' | 'mlp';
  /** The stream after the sublayer (post-norm: the norm's output). */
  readonly output: string;
  /** The residual sum h + f(h) (before the post norm; the same as `output` otherwise). */
  readonly sum: string;
  readonly postNorm: NormAffine | undefined;
  /** Undefined when the branch does not end in a plain product (then it cannot be refit). */
  readonly projection: Projection | undefined;
}

export interface BlockBoundary {
  readonly index: number;
  readonly input: string;
  readonly output: string;
  readonly sublayers: readonly SublayerBoundary[];
}

export interface BlockMap {
  readonly structure: TransformerStructure;
  readonly blocks: readonly BlockBoundary[];
  readonly layout: TransformerStructure['layout'];
}

/** The blocks of a model found from its residual stream; throws when there is none to remove. */
export function mapBlocks(model: Model): BlockMap {
  const structure = detectTransformer(model);
  if (structure.method !== 'residual-stream' || !structure.blocks.length) {
    throw new PreconditionError('no transformer blocks found along a residual stream; distill needs a model whose blocks add into one stream');
  }
  const blocks = structure.blocks.map(boundaryOf);
  return { structure, blocks, layout: structure.layout };
}

function boundaryOf(block: TransformerBlock): BlockBoundary {
  const first = block.sublayers[0]?.join;
  if (!first) throw new PreconditionError(`block ${block.index} has no residual join`);
  const sublayers = block.sublayers.map((s) => sublayerBoundary(s, block.index));
  return { index: block.index, input: first.stream.name, output: sublayers.at(-1)!.output, sublayers };
}

function sublayerBoundary(s: Sublayer, block: number): SublayerBoundary {
  const join = s.join;
  const sum = join?.output;
  if (!join || !sum) throw new PreconditionError(`block ${block}: a ${s.kind} sublayer has no residual sum to rewire (fused skip norms are not supported)`);
  const post = s.placement === 'post' && s.norm ? s.norm : undefined;
  return {
    kind: s.kind,
    output: post ? post.output.name : sum.name,
    sum: sum.name,
    postNorm: post ? affineOf(post) : undefined,
    projection: projectionOf(join.branchOutput, s),
  };
}

/** Ops between an output projection and the residual Add that keep values one for one. */
const PASS_THROUGH = new Set(['Reshape', 'Identity', 'Cast', 'Squeeze', 'Unsqueeze']);

function projectionOf(branchOutput: Value, s: Sublayer): Projection | undefined {
  let v: Value | null | undefined = branchOutput;
  for (let step = 0; v && step < 6; step++) {
    const p: Value['producer'] = v.producer;
    if (!p || !s.nodes.has(p)) return undefined;
    if ((p.opType === 'MatMul' || p.opType === 'Gemm') && p.domain === '' && p.inputs[0]) {
      return { output: p.output(0).name, input: p.inputs[0].name };
    }
    if (p.opType === 'Add' && p.domain === '') {
      const a: Value | null | undefined = p.inputs[0];
      const b: Value | null | undefined = p.inputs[1];
      v = isConstant(b) ? a : isConstant(a) ? b : undefined;
    } else if (PASS_THROUGH.has(p.opType) && p.domain === '') {
      v = p.inputs[0];
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** γ and β of a norm: inputs 1 and 2 of the fused op, or the constant Mul and Add that end the written-out form. */
function affineOf(norm: Norm): NormAffine | undefined {
  const head = norm.nodes[0];
  if (norm.form === 'fused' && head) {
    const scale = head.inputs[1];
    const bias = norm.kind === 'LayerNorm' ? head.inputs[2] : undefined;
    return scale?.initializer ? { kind: norm.kind, scale: scale.name, bias: bias?.initializer ? bias.name : undefined } : undefined;
  }
  let scale: string | undefined;
  let bias: string | undefined;
  for (const n of norm.nodes.slice(-3)) {
    // A per-channel constant (ε is a scalar).
    const c = n.inputs.find((i) => (i?.initializer?.elementCount ?? 0) > 1);
    if (!c) continue;
    if (n.opType === 'Mul') scale = c.name;
    else if (n.opType === 'Add' && norm.kind === 'LayerNorm') bias = c.name;
  }
  return scale ? { kind: norm.kind, scale, bias } : undefined;
}
