/**
 * Where attention happens, in graph order (the order `layers` counts in):
 *   com.microsoft GroupQueryAttention | MultiHeadAttention | Attention, ai.onnx Attention (opset 23)
 *   unfused: Softmax over the last axis of an attention core as analysis finds it (scores from a product
 *            of two activations through masks and scales, probabilities multiplied with the values)
 * Whether an unfused attention is causal is learned by running it (probeCausal), not from its mask's nodes.
 */
import type { Graph } from '../../src/ir/graph.js';
import type { Model } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/node.js';
import { findAttentionCores } from '../../src/analysis/attention.js';
import type { FactTable } from '../../src/pattern/facts.js';
import { evaluate } from '../../src/pattern/evaluate.js';
import { randomFeeds } from '../../src/runtime/feeds.js';

export type SiteKind = 'gqa' | 'mha' | 'attention' | 'attention23' | 'softmax';

export interface Site {
  readonly node: Node;
  readonly kind: SiteKind;
}

const FUSED_KINDS: Readonly<Record<string, SiteKind>> = {
  'com.microsoft.GroupQueryAttention': 'gqa',
  'com.microsoft.MultiHeadAttention': 'mha',
  'com.microsoft.Attention': 'attention',
  Attention: 'attention23',
};

/** Softmax over the last axis (opset < 13 coerces to 2-D at `axis`, so only an explicit last axis counts). */
function overLastAxis(node: Node, facts: FactTable): boolean {
  const opset = node.graph.model.opsetVersion('') ?? 13;
  const axis = node.getInt('axis', opset >= 13 ? -1 : 1);
  const rank = facts.rank(node.inputs[0]);
  return axis === -1 || (rank !== undefined && axis === rank - 1);
}

export function findSites(graph: Graph, facts: FactTable): Site[] {
  const sites: Site[] = [];
  for (const core of findAttentionCores(graph)) {
    const kind = core.form === 'fused' ? FUSED_KINDS[core.op] : overLastAxis(core.node, facts) ? 'softmax' : undefined;
    if (kind) sites.push({ node: core.node, kind });
  }
  return sites;
}

const PROBE_SEQUENCE = 6;
const PROBE_PAST = 2;

/**
 * For each Softmax, whether its probabilities are zero for every key after the query (bottom-right
 * aligned when keys include a past), on one synthetic input of PROBE_SEQUENCE tokens.
 */
export async function probeCausal(model: Model, softmaxes: readonly Node[], seed: number): Promise<Map<Node, boolean>> {
  const out = new Map<Node, boolean>();
  if (!softmaxes.length) return out;
  const dims: Record<string, number> = {};
  for (const input of model.graph.inputs) {
    for (const d of input.type?.shape ?? []) if (typeof d === 'string') dims[d] = /past/i.test(d) ? PROBE_PAST : /batch/i.test(d) ? 1 : PROBE_SEQUENCE;
  }
  const values = await evaluate(model, softmaxes.map((n) => n.output(0)), randomFeeds(model, { dims, defaultDim: PROBE_SEQUENCE, seed }));
  for (const node of softmaxes) {
    const t = values[node.output(0).name]!;
    const [s, k] = t.dims.slice(-2) as [number, number];
    const data = t.data;
    let causal = data instanceof Float32Array && s > 1 && k >= s;
    for (let at = 0; causal && at < data.length; at++) {
      const row = Math.floor(at / k) % s, key = at % k;
      if (key > row + k - s && data[at] !== 0) causal = false;
    }
    out.set(node, causal);
  }
  return out;
}
