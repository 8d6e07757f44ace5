/**
 * Adds a key/value cache to a fused causal decoder (run `--preset fuse` first):
 *
 *   input_ids ─▶ … ─▶ GroupQueryAttention | MultiHeadAttention | Attention ─▶ … ─▶ logits
 * becomes
 *   input_ids, attention_mask [batch, total], past_key_values.{i}.key/.value [batch, heads, past, head_size]
 *     ─▶ … ─▶ attention(past_key, past_value) ─▶ … ─▶ logits, present.{i}.key/.value [batch, heads, total, head_size]
 *
 * GroupQueryAttention takes seqlens_k = sum(mask) - 1 and total_sequence_length = mask length, and rotary
 * tables that cover `maxLength` positions; Attention is rewritten to MultiHeadAttention (which takes a separate
 * past key and value); learned positions and rotary starts continue after the past length.
 * Seen on: llama-tiny and gpt2-tiny (TorchScript exports) after `fuse`, and the fixture builders.
 */
import { z } from 'zod';
import { definePass, type PassContext, type PassResult } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { DType, isFloat } from '../../src/ir/dtype.js';
import { removeOrphans } from '../../src/pattern/rewrite.js';
import { planCache, type Layer } from './plan.js';
import { Builder, gqaLengths, idsInput, layerCache, maskInput, type CacheInterface } from './interface.js';
import { keyPaddingMask, wireAttention, wireGqa, wireMha, type SharedValues } from './wire.js';
import { constantTables, shiftRanges, shiftRotaryStarts } from './positions.js';

const NAME = 'add-kv-cache';

const options = z.object({
  maxLength: z.number().int().min(1).max(1 << 20).default(4096)
    .describe('longest past + current length the rotary tables cover (RoPE models only)'),
}).strict();

function refuse(ctx: PassContext, reason: string): PassResult {
  ctx.warn(`${NAME}: model left unchanged: ${reason}. Run \`--preset fuse\` first: the cache is added to fused causal attention.`);
  return { modified: false, stats: {} };
}

/** Run-time rotary tables read by GroupQueryAttention (inputs 7, 8) and RotaryEmbedding (inputs 2, 3). */
function rotaryTables(model: Model): Value[] {
  const g = model.graph;
  const gqa = g.nodesOfType('GroupQueryAttention', 'com.microsoft').flatMap((n) => [n.inputs[7], n.inputs[8]]);
  const rot = g.nodesOfType('RotaryEmbedding', 'com.microsoft').flatMap((n) => [n.inputs[2], n.inputs[3]]);
  return [...gqa, ...rot].filter((v): v is Value => !!v);
}

async function run(model: Model, opts: z.output<typeof options>, ctx: PassContext): Promise<PassResult> {
  const graph = model.graph;
  if (graph.inputs.some((v) => v.name.startsWith('past_key_values.'))) {
    ctx.explain(NAME, 'the model already has past_key_values inputs');
    return { modified: false, stats: {} };
  }
  const plan = planCache(graph);
  if ('reason' in plan) return refuse(ctx, plan.reason);
  const ids = idsInput(graph);
  if (!ids) return refuse(ctx, 'no token ids input');
  const tables = rotaryTables(model);
  const constants = await constantTables(graph, tables, opts.maxLength);
  if (typeof constants === 'string') return refuse(ctx, constants);

  const { mask, added, batchDim } = maskInput(graph, ids);
  const logits = graph.outputs.find((o) => isFloat(o.type?.elemType ?? 0));
  const iface: CacheInterface = { mask, maskAdded: added, batchDim, dtype: logits?.type?.elemType ?? DType.FLOAT };
  const b = new Builder(model, graph.nodes[0]!);
  const kinds = new Set(plan.layers.map((l) => l.kind));
  const lengths = kinds.has('gqa') ? gqaLengths(b, mask) : undefined;
  const shared: SharedValues = {
    mask, tables: constants, seqlens: lengths?.seqlens, total: lengths?.total,
    keyPadding: kinds.has('mha') || kinds.has('attention') ? keyPaddingMask(b, mask) : undefined,
  };
  const stale: Node[] = [];
  plan.layers.forEach((layer, i) => {
    for (const k of layer.kind === 'gqa' ? [5, 6, 7, 8] : []) if (layer.node.inputs[k]?.producer) stale.push(layer.node.inputs[k]!.producer!);
    wire(b, layer, i, iface, shared);
  });
  for (const rot of graph.nodesOfType('RotaryEmbedding', 'com.microsoft')) {
    for (const k of [2, 3]) {
      const t = rot.inputs[k];
      const c = t && constants.get(t.name);
      if (!t || !c) continue;
      if (t.producer) stale.push(t.producer);
      rot.setInput(k, c);
    }
  }
  const removed = removeOrphans(graph, stale);
  const positions = shiftPositions(b, ids);
  return {
    modified: true,
    stats: {
      layers: plan.layers.length,
      groupQueryAttention: plan.layers.filter((l) => l.kind === 'gqa').length,
      multiHeadAttention: plan.layers.filter((l) => l.kind !== 'gqa').length,
      attentionConverted: plan.layers.filter((l) => l.kind === 'attention').length,
      positionsShifted: positions,
      maskAdded: added ? 1 : 0,
      nodesRemoved: removed,
    },
  };
}

function wire(b: Builder, layer: Layer, index: number, iface: CacheInterface, shared: SharedValues): void {
  const cache = layerCache(b.graph, layer, index, iface);
  if (layer.kind === 'gqa') wireGqa(b, layer, cache, shared);
  else if (layer.kind === 'mha') wireMha(b, layer, cache, shared);
  else wireAttention(b, layer, cache, shared);
}

/** Positions continue after the past, unless the model takes position_ids from the caller. */
function shiftPositions(b: Builder, ids: Value): number {
  if (b.graph.inputs.some((v) => /position_ids/i.test(v.name))) return 0;
  let past: Value | undefined;
  const pastLength = (): Value => (past ??= b.dim(b.graph.lookup('past_key_values.0.key')!, 2));
  return shiftRanges(b, ids, pastLength) + shiftRotaryStarts(b, pastLength);
}

export default definePass({
  name: NAME,
  description: 'add a key/value cache (past_key_values inputs, present outputs) to fused causal attention',
  options,
  run,
});
