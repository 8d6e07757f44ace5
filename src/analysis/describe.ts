/**
 * A plain, JSON-ready view of a transformer structure (no node references): the model-wide summary taken
 * from the first block, whether all blocks agree, and one entry per block. Field names are stable; they
 * are documented with `llmopt inspect --json`.
 */
import type { AttentionInfo } from './attention-info.js';
import type { TransformerBlock } from './blocks.js';
import type { Linear } from './linear.js';
import type { MlpInfo } from './mlp.js';
import type { Norm } from './norms.js';
import type { Architecture, TransformerStructure } from './transformer.js';

export interface AttentionJson {
  readonly form: 'decomposed' | 'fused';
  readonly op: string;
  readonly heads: number | null;
  readonly kvHeads: number | null;
  readonly headDim: number | null;
  readonly groupedQuery: boolean | null;
  readonly rope: boolean;
  readonly kvCache: boolean;
}

export interface NormJson { readonly kind: string; readonly form: string; readonly op: string }

export interface MlpJson {
  readonly kind: string;
  readonly activation: string | null;
  readonly activationOps: string;
  readonly gated: boolean;
  readonly width: number | null;
}

export interface LinearJson {
  readonly node: string;
  readonly role: string;
  readonly op: string;
  readonly inFeatures: number | null;
  readonly outFeatures: number | null;
  readonly format: string;
}

export interface BlockJson {
  readonly index: number;
  readonly sublayers: readonly string[];
  /** Compute nodes on the block's data paths (shape arithmetic not counted). */
  readonly nodes: number;
  readonly attention: readonly AttentionJson[];
  readonly mlp: MlpJson | null;
  readonly norms: readonly NormJson[];
  readonly linears: readonly LinearJson[];
}

export interface TransformerJson {
  readonly method: TransformerStructure['method'];
  readonly architecture: Architecture;
  readonly blockCount: number;
  /** Every block has the same attention, norm and MLP kind as the first. */
  readonly uniform: boolean;
  readonly hiddenSize: number | null;
  readonly layout: TransformerStructure['layout'];
  readonly attention: AttentionJson | null;
  readonly norm: NormJson | null;
  readonly mlp: MlpJson | null;
  readonly embeddings: readonly { readonly role: string; readonly op: string; readonly rows: number; readonly cols: number }[];
  readonly embeddingNorm: NormJson | null;
  readonly finalNorm: NormJson | null;
  readonly lmHead: (LinearJson & { readonly tied: boolean }) | null;
  readonly blocks: readonly BlockJson[];
}

export function describeTransformer(s: TransformerStructure): TransformerJson {
  const blocks = s.blocks.map(blockJson);
  const first = blocks[0];
  const signature = (b: BlockJson) => JSON.stringify([b.attention.map((a) => [a.op, a.heads, a.kvHeads, a.rope]), b.norms.map((n) => n.kind), b.mlp?.kind]);
  const head = s.lmHead;
  return {
    method: s.method,
    architecture: s.architecture,
    blockCount: blocks.length,
    uniform: blocks.every((b) => signature(b) === signature(blocks[0]!)),
    hiddenSize: s.hiddenSize ?? null,
    layout: s.layout,
    attention: first?.attention[0] ?? null,
    norm: first?.norms[0] ?? null,
    mlp: first?.mlp ?? null,
    embeddings: s.embeddings.map((e) => ({ role: e.role, op: e.op, rows: e.rows, cols: e.cols })),
    embeddingNorm: s.embeddingNorm ? normJson(s.embeddingNorm) : null,
    finalNorm: s.finalNorm ? normJson(s.finalNorm) : null,
    lmHead: head ? { ...linearJson(head.linear, 'lm_head'), tied: head.tied } : null,
    blocks,
  };
}

function blockJson(b: TransformerBlock): BlockJson {
  return {
    index: b.index,
    sublayers: b.sublayers.map((s) => s.kind),
    nodes: b.nodes.size,
    attention: b.attention.map(attentionJson),
    mlp: b.mlp ? mlpJson(b.mlp) : null,
    norms: b.norms.map(normJson),
    linears: b.linears.map((l) => linearJson(l.linear, l.role)),
  };
}

function attentionJson(a: AttentionInfo): AttentionJson {
  return {
    form: a.core.form, op: a.core.op, heads: a.heads ?? null, kvHeads: a.kvHeads ?? null, headDim: a.headDim ?? null,
    groupedQuery: a.groupedQuery ?? null, rope: a.rope, kvCache: a.kvCache,
  };
}

function normJson(n: Norm): NormJson {
  return { kind: n.kind, form: n.form, op: n.op };
}

function mlpJson(m: MlpInfo): MlpJson {
  return { kind: m.kind, activation: m.activation ?? null, activationOps: m.activationOps, gated: m.gated, width: m.width ?? null };
}

function linearJson(l: Linear, role: string): LinearJson {
  return { node: l.node.name, role, op: l.op, inFeatures: l.k ?? null, outFeatures: l.n ?? null, format: l.format };
}
