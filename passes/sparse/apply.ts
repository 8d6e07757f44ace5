/**
 * Makes one attention local:
 *   GroupQueryAttention, sliding window without sinks -> local_window_size = window (onnxruntime 1.30's CPU
 *                                                         kernel attends to that many keys, the query's own
 *                                                         included; older CPU kernels to one more, other
 *                                                         providers unchecked: targets other than cpu get the band)
 *   GroupQueryAttention otherwise                       -> attention_bias (input 10) += band
 *   MultiHeadAttention, Attention (com.microsoft)       -> attention_bias (input 5) += band
 *   Attention-23                                        -> attn_mask (input 3): And with the band (bool) or += band
 *   unfused Softmax(x)                                  -> Softmax(Where(band, x, -1e30))
 * S and T come from the shapes at run time, T counting past keys, so the band follows any length and a cache.
 */
import type { Model } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { DType } from '../../src/ir/dtype.js';
import type { FactTable } from '../../src/pattern/facts.js';
import { float32 } from '../../src/pattern/rewrite.js';
import { BAND_FILL, BandBuilder, NODE_PREFIX, type Locality } from './band.js';
import type { Site } from './sites.js';

export type Outcome =
  | { readonly done: 'window-attribute' | 'band' }
  | { readonly skipped: string }
  | { readonly refused: string };

const ours = (v: Value | null | undefined): boolean => !!v?.producer?.name.startsWith(NODE_PREFIX);

/** Operators whose output keeps the element type and rank of input 0 (contrib rotary included: facts skip it). */
const KEEPS_TYPE = new Set(['RotaryEmbedding', 'Identity', 'Add', 'Mul', 'Sub', 'Div']);

/** What facts know about `v`, else about the input it was computed from by a type- and rank-preserving op. */
function through<T>(v: Value | null | undefined, get: (x: Value) => T | undefined): T | undefined {
  for (let x = v, depth = 0; x && depth < 6; x = x.producer?.inputs[0], depth++) {
    const known = get(x);
    if (known !== undefined) return known;
    if (!x.producer || !KEEPS_TYPE.has(x.producer.opType)) return undefined;
  }
  return undefined;
}

const dtypeOf = (v: Value | null | undefined, facts: FactTable): number | undefined => through(v, (x) => facts.dtype(x) ?? x.type?.elemType);
const rankOf = (v: Value | null | undefined, facts: FactTable): number | undefined => through(v, (x) => facts.rank(x) ?? x.type?.shape?.length);
const NOT_FLOAT32 = 'not float32: the band is built in float32';

const NOT_CAUSAL = 'attention is not causal: a window that only bounds the past would leave every later token visible; set bidirectional: true for a symmetric window';

export interface SiteFacts {
  readonly facts: FactTable;
  /** The unfused attention was seen to be causal. */
  readonly causal: boolean;
  /** GroupQueryAttention's local_window_size may express the window (the CPU kernel's reading is known). */
  readonly windowAttribute: boolean;
}

export function applyToSite(model: Model, site: Site, l: Locality, known: SiteFacts): Outcome {
  const { facts, causal } = known;
  switch (site.kind) {
    case 'gqa': return gqa(model, site.node, l, known.windowAttribute, facts);
    case 'mha': return mha(model, site.node, l, facts);
    case 'attention': return attention(model, site.node, l, facts);
    case 'attention23': return attention23(model, site.node, l, facts);
    default: return softmax(model, site.node, l, facts, causal);
  }
}

function gqa(model: Model, node: Node, l: Locality, windowAttribute: boolean, facts: FactTable): Outcome {
  const current = node.getInt('local_window_size', -1)!;
  if (current >= 0) return { skipped: `already local (local_window_size ${current})` };
  if (ours(node.inputs[10])) return { skipped: 'already has a band in its attention_bias' };
  if (windowAttribute && l.mode === 'sliding' && l.sinks === 0) {
    node.setAttribute('local_window_size', { type: 'int', value: l.window });
    return { done: 'window-attribute' };
  }
  if (dtypeOf(node.inputs[0], facts) !== DType.FLOAT) return { refused: `query ${NOT_FLOAT32} (only local_window_size would fit)` };
  const b = new BandBuilder(model, node);
  const total = node.inputs[6];
  if (!total) return { refused: 'no total_sequence_length input' };
  const keep = b.keep(b.dim(node.input(0), 1), b.int64Of(total), { ...l, symmetric: false });
  setBias(b, node, 10, b.additive(keep));
  return { done: 'band' };
}

function mha(model: Model, node: Node, l: Locality, facts: FactTable): Outcome {
  if (!node.inputs[1] || !node.inputs[2]) return { refused: 'packed query/key/value: the key length is not separate' };
  if (node.getInt('unidirectional', 0) !== 1 && !l.symmetric) return { refused: NOT_CAUSAL };
  if (ours(node.inputs[5])) return { skipped: 'already has a band in its attention_bias' };
  if (dtypeOf(node.inputs[0], facts) !== DType.FLOAT) return { refused: `query ${NOT_FLOAT32}` };
  const keyRank = rankOf(node.inputs[1], facts);
  const past = node.inputs[6];
  if (rankOf(node.inputs[0], facts) !== 3 || (keyRank !== 3 && keyRank !== 4) || (keyRank === 4 && past)) {
    return { refused: 'query/key layout not [B, S, D] (or a [B, N, L, H] key without past)' };
  }
  const b = new BandBuilder(model, node);
  let keys = b.dim(node.input(1), keyRank === 3 ? 1 : 2);
  if (past) keys = b.add(keys, b.dim(past, 2));
  setBias(b, node, 5, b.additive(b.keep(b.dim(node.input(0), 1), keys, l)));
  return { done: 'band' };
}

function attention(model: Model, node: Node, l: Locality, facts: FactTable): Outcome {
  if (node.getInt('unidirectional', 0) !== 1 && !l.symmetric) return { refused: NOT_CAUSAL };
  if (dtypeOf(node.inputs[0], facts) !== DType.FLOAT) return { refused: `input ${NOT_FLOAT32}` };
  if (node.inputs[6]) return { refused: 'a past_sequence_length input (shared past/present buffer)' };
  if (ours(node.inputs[5])) return { skipped: 'already has a band in its attention_bias' };
  const b = new BandBuilder(model, node);
  const queries = b.dim(node.input(0), 1);
  const past = node.inputs[4];
  const keys = past ? b.add(queries, b.dim(past, 3)) : queries;
  setBias(b, node, 5, b.additive(b.keep(queries, keys, l)));
  return { done: 'band' };
}

function attention23(model: Model, node: Node, l: Locality, facts: FactTable): Outcome {
  if (node.getInt('is_causal', 0) !== 1 && !l.symmetric) return { refused: NOT_CAUSAL };
  const mask = node.inputs[3];
  if (ours(mask)) return { skipped: 'already has a band in its attn_mask' };
  if (node.inputs[6]) return { refused: 'a nonpad_kv_seqlen input' };
  const maskType = mask ? dtypeOf(mask, facts) : DType.BOOL;
  if (maskType !== DType.BOOL && maskType !== DType.FLOAT) return { refused: 'attn_mask is neither bool nor float32' };
  const b = new BandBuilder(model, node);
  let keys = b.dim(node.input(1), -2);
  if (node.inputs[4]) keys = b.add(keys, b.dim(node.input(4), 2));
  const keep = b.keep(b.dim(node.input(0), -2), keys, l);
  if (!mask) node.setInput(3, keep);
  else if (maskType === DType.BOOL) node.setInput(3, b.op('And', [mask, keep]));
  else node.setInput(3, b.add(mask, b.additive(keep)));
  return { done: 'band' };
}

function softmax(model: Model, node: Node, l: Locality, facts: FactTable, causal: boolean): Outcome {
  const x = node.input(0);
  if (ours(x)) return { skipped: 'already has a band in front of its softmax' };
  if (dtypeOf(x, facts) !== DType.FLOAT) return { refused: `scores ${NOT_FLOAT32}` };
  if (!causal && !l.symmetric) return { refused: NOT_CAUSAL };
  const b = new BandBuilder(model, node);
  const keep = b.keep(b.dim(x, -2), b.dim(x, -1), l);
  node.setInput(0, b.op('Where', [keep, x, float32(model.graph, 'band_fill', [BAND_FILL], [])]));
  return { done: 'band' };
}

/** input[index] = existing + band, or the band alone. */
function setBias(b: BandBuilder, node: Node, index: number, band: Value): void {
  const existing = node.inputs[index];
  node.setInput(index, existing ? b.add(existing, band) : band);
}
