/**
 * Transformer structure of a model's main graph, found from the computation (never from names):
 *   1. linear layers, attention cores and norms are recognized by their patterns;
 *   2. the residual stream is the chain of h + f(h) additions whose branch holds a layer;
 *   3. each addition closes a sublayer (attention or MLP); blocks are attention sublayers with the MLPs
 *      that follow them.
 * When no residual stream is found but attention cores are, each core is taken as one block.
 */
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { findAttentionCores } from './attention.js';
import { describeAttention } from './attention-info.js';
import { guessArchitecture, type Architecture } from './architecture.js';
import { blockOf, groupBlocks, sublayerOf, throughCasts, type Facts, type Sublayer, type TransformerBlock } from './blocks.js';
import { causalEvidence } from './causal.js';
import { findEmbeddings, findLmHead, type Embedding, type LmHead } from './embedding.js';
import { findLinears } from './linear.js';
import { findNorms, type Norm } from './norms.js';
import { findResidualJoins } from './residual.js';
import { NodeOrder } from './walk.js';

export type { TransformerBlock, Sublayer, BlockLinear, LinearRole } from './blocks.js';
export type { AttentionInfo } from './attention-info.js';
export type { MlpInfo } from './mlp.js';
export type { Norm } from './norms.js';
export type { Linear } from './linear.js';
export type { Embedding, LmHead } from './embedding.js';
export type { Architecture } from './architecture.js';

export interface TransformerStructure {
  /** How blocks were delimited. */
  readonly method: 'residual-stream' | 'attention-cores' | 'none';
  readonly blocks: readonly TransformerBlock[];
  /** Width of the residual stream. */
  readonly hiddenSize: number | undefined;
  readonly layout: 'pre-norm' | 'post-norm' | 'mixed' | 'unknown';
  readonly embeddings: readonly Embedding[];
  /** A norm between the embeddings and the first block (BERT). */
  readonly embeddingNorm: Norm | undefined;
  /** A norm after the last block (pre-norm models). */
  readonly finalNorm: Norm | undefined;
  readonly lmHead: LmHead | undefined;
  readonly architecture: Architecture;
}

export function detectTransformer(model: Model): TransformerStructure {
  const graph = model.graph;
  const order = new NodeOrder(graph);
  const cores = new Map(findAttentionCores(graph).map((c) => [c.node, c]));
  const facts: Facts = { order, linears: findLinears(graph), cores, norms: findNorms(graph) };
  const coreNodes = new Set([...cores.values()].flatMap((c) => c.nodes));
  // A branch needs a layer; one holding two attention cores spans layers (an early value read again later).
  const accept = (branch: ReadonlySet<Node>) => {
    const held = [...branch].filter((n) => cores.has(n)).length;
    return held <= 1 && (held === 1 || [...branch].some((n) => facts.linears.has(n)));
  };
  const joins = findResidualJoins(graph, order, accept, coreNodes);
  const sublayers = joins.map((j) => sublayerOf(j, facts));
  let method: TransformerStructure['method'] = 'residual-stream';
  let blocks = sublayers.some((s) => s.kind === 'attention') ? groupBlocks(sublayers, facts) : [];
  if (!blocks.length && cores.size) {
    method = 'attention-cores';
    blocks = [...cores.values()].map((c, i) => blockOf(i, [coreOnly(c.node, facts)], facts));
  }
  if (!blocks.length) method = 'none';
  const embeddings = findEmbeddings(graph);
  const lmHead = findLmHead(graph, facts.linears, embeddings);
  const inBlocks = new Set(blocks.flatMap((b) => b.norms));
  const free = facts.norms.filter((n) => !inBlocks.has(n));
  const firstStream = sublayers[0]?.join?.stream;
  const last = sublayers.at(-1)?.join;
  const lastOut = last?.output;
  return {
    method, blocks,
    hiddenSize: hiddenSize(blocks, embeddings),
    layout: layoutOf(sublayers),
    embeddings,
    embeddingNorm: firstStream ? free.find((n) => n.output === throughCasts(firstStream)) : undefined,
    finalNorm: free.find((n) => (lastOut && throughCasts(n.input) === lastOut) || (last && n.nodes[0] === last.node)),
    lmHead,
    architecture: guessArchitecture(blocks, embeddings, causalEvidence(graph)),
  };
}

/** The structure of a model where none was found, with the reason as evidence. */
export function noTransformer(reason: string): TransformerStructure {
  return {
    method: 'none', blocks: [], hiddenSize: undefined, layout: 'unknown', embeddings: [], embeddingNorm: undefined,
    finalNorm: undefined, lmHead: undefined, architecture: { kind: 'unknown', family: 'unknown', evidence: [reason] },
  };
}

/** A sublayer made of one attention core and its projections (no residual stream to delimit it). */
function coreOnly(core: Node, facts: Facts): Sublayer {
  const info = describeAttention(facts.cores.get(core)!, facts.linears);
  const nodes = new Set<Node>([...info.core.nodes, ...[...info.q, ...info.k, ...info.v].map((l) => l.node)]);
  return { kind: 'attention', join: undefined, nodes, norm: undefined, placement: undefined, attention: [info], mlp: undefined };
}

function hiddenSize(blocks: readonly TransformerBlock[], embeddings: readonly Embedding[]): number | undefined {
  const first = blocks[0];
  const q = first?.linears.find((l) => l.role === 'q' || l.role === 'qkv') ?? first?.linears[0];
  return q?.linear.k ?? embeddings.find((e) => e.role === 'token')?.cols;
}

function layoutOf(sublayers: readonly Sublayer[]): TransformerStructure['layout'] {
  const pre = sublayers.filter((s) => s.placement === 'pre').length;
  const post = sublayers.filter((s) => s.placement === 'post').length;
  if (!pre && !post) return 'unknown';
  return pre && post ? (pre > post * 3 ? 'pre-norm' : post > pre * 3 ? 'post-norm' : 'mixed') : pre ? 'pre-norm' : 'post-norm';
}
