/**
 * From residual joins to transformer blocks: each join closes a sublayer (attention when its branch holds
 * an attention core, MLP otherwise); a block is an attention sublayer (or several: cross-attention) and
 * the MLP sublayers after it. Norms are placed before (pre-norm) or after (post-norm) their sublayer;
 * linear layers get roles (q, k, v, o, gate, up, down).
 */
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { AttentionCore } from './attention.js';
import { describeAttention, type AttentionInfo } from './attention-info.js';
import type { Linear } from './linear.js';
import { describeMlp, type MlpInfo } from './mlp.js';
import type { Norm } from './norms.js';
import type { ResidualJoin } from './residual.js';
import type { NodeOrder } from './walk.js';

export type LinearRole = 'q' | 'k' | 'v' | 'qkv' | 'kv' | 'o' | 'gate' | 'up' | 'gate_up' | 'down' | 'other';

export interface BlockLinear {
  readonly linear: Linear;
  readonly role: LinearRole;
}

export interface Sublayer {
  readonly kind: 'attention' | 'mlp';
  readonly join: ResidualJoin | undefined;
  readonly nodes: ReadonlySet<Node>;
  /** The norm applied to the sublayer's input (pre) or to the stream after it (post). */
  readonly norm: Norm | undefined;
  readonly placement: 'pre' | 'post' | undefined;
  readonly attention: readonly AttentionInfo[];
  readonly mlp: MlpInfo | undefined;
}

export interface TransformerBlock {
  readonly index: number;
  readonly sublayers: readonly Sublayer[];
  readonly attention: readonly AttentionInfo[];
  readonly mlp: MlpInfo | undefined;
  /** Every norm of the block: pre/post norms and norms inside sublayers (such as Q/K norms). */
  readonly norms: readonly Norm[];
  readonly linears: readonly BlockLinear[];
  readonly nodes: ReadonlySet<Node>;
}

export interface Facts {
  readonly order: NodeOrder;
  readonly linears: ReadonlyMap<Node, Linear>;
  readonly cores: ReadonlyMap<Node, AttentionCore>;
  readonly norms: readonly Norm[];
}

/** Looks through Cast and Identity (fp32 upcasts around norms). */
export function throughCasts(v: Value): Value {
  let x = v;
  for (let i = 0; i < 4 && x.producer && (x.producer.opType === 'Cast' || x.producer.opType === 'Identity'); i++) x = x.producer.inputs[0] ?? x;
  return x;
}

export function sublayerOf(join: ResidualJoin, facts: Facts): Sublayer {
  const cores = [...join.branch].filter((n) => facts.cores.has(n)).map((n) => facts.cores.get(n)!);
  const attention = cores.map((c) => describeAttention(c, facts.linears, join.branch));
  const mlp = cores.length ? undefined : describeMlp(join.branch, facts.linears, join.branchOutput);
  const { norm, placement } = placeNorm(join, facts.norms);
  return { kind: cores.length ? 'attention' : 'mlp', join, nodes: join.branch, norm, placement, attention, mlp };
}

function placeNorm(join: ResidualJoin, norms: readonly Norm[]): { norm: Norm | undefined; placement: 'pre' | 'post' | undefined } {
  const stream = throughCasts(join.stream);
  const pre = norms.find((n) => (n.nodes.every((x) => join.branch.has(x)) && throughCasts(n.input) === stream) || n.sum === join.stream);
  if (pre) return { norm: pre, placement: 'pre' };
  const out = join.output;
  const post = out && norms.find((n) => !n.nodes.some((x) => join.branch.has(x)) && throughCasts(n.input) === out);
  if (post) return { norm: post, placement: 'post' };
  const fusedPost = norms.find((n) => n.skip && n.nodes[0] === join.node);
  return fusedPost && !fusedPost.sum ? { norm: fusedPost, placement: 'post' } : { norm: undefined, placement: undefined };
}

/** Groups sublayers in stream order: a new block at each attention sublayer that follows an MLP. */
export function groupBlocks(sublayers: readonly Sublayer[], facts: Facts): TransformerBlock[] {
  const groups: Sublayer[][] = [];
  for (const s of sublayers) {
    const current = groups.at(-1);
    const hasMlp = current?.some((x) => x.kind === 'mlp');
    if (!current || hasMlp) groups.push([s]);
    else current.push(s);
  }
  return groups.map((g, index) => blockOf(index, g, facts));
}

export function blockOf(index: number, sublayers: readonly Sublayer[], facts: Facts): TransformerBlock {
  const nodes = new Set<Node>();
  for (const s of sublayers) for (const n of s.nodes) nodes.add(n);
  const norms = new Set<Norm>();
  for (const s of sublayers) if (s.norm) norms.add(s.norm);
  for (const n of facts.norms) if (n.nodes.every((x) => nodes.has(x))) norms.add(n);
  for (const n of norms) for (const x of n.nodes) nodes.add(x);
  const attention = sublayers.flatMap((s) => s.attention);
  const mlp = sublayers.find((s) => s.mlp)?.mlp;
  const linears = sublayers.flatMap((s) => rolesOf(s, facts));
  return { index, sublayers, attention, mlp, norms: [...norms].sort((a, b) => facts.order.of(a.nodes[0]!) - facts.order.of(b.nodes[0]!)), linears, nodes };
}

function rolesOf(s: Sublayer, facts: Facts): BlockLinear[] {
  const inBranch = [...s.nodes].filter((n) => facts.linears.has(n)).sort((a, b) => facts.order.of(a) - facts.order.of(b));
  return inBranch.map((n) => ({ linear: facts.linears.get(n)!, role: s.kind === 'attention' ? attentionRole(n, s, facts) : mlpRole(n, s.mlp) }));
}

function attentionRole(n: Node, s: Sublayer, facts: Facts): LinearRole {
  const has = (pick: (a: AttentionInfo) => readonly Linear[]) => s.attention.some((a) => pick(a).some((l) => l.node === n));
  const [q, k, v] = [has((a) => a.q), has((a) => a.k), has((a) => a.v)];
  if (q && k && v) return 'qkv';
  if (k && v) return 'kv';
  if (q || k || v) return q ? 'q' : k ? 'k' : 'v';
  const last = Math.max(...s.attention.map((a) => facts.order.of(a.core.node)));
  return facts.order.of(n) > last ? 'o' : 'other';
}

function mlpRole(n: Node, mlp: MlpInfo | undefined): LinearRole {
  if (!mlp) return 'other';
  if (mlp.down.some((l) => l.node === n)) return 'down';
  if (mlp.gate.some((l) => l.node === n)) return mlp.up.length ? 'gate' : 'gate_up';
  return mlp.up.some((l) => l.node === n) ? 'up' : 'other';
}
