/**
 * Local attention, opt-in (changes what the model computes; in no preset):
 *
 *   scores ─ [causal mask] ─ Softmax        ->  scores ─ [causal mask] ─ Where(band, ·, -1e30) ─ Softmax
 *   GroupQueryAttention                     ->  GroupQueryAttention(local_window_size = window), or + band
 *   MultiHeadAttention / Attention(bias)    ->  …(bias + band)
 *
 * Each query attends to the `window` tokens ending at itself (sliding), or to its own block of `blockSize`
 * tokens and the previous one (block), plus the first `sinks` tokens. The band is computed from the run-time
 * lengths (band.ts), with queries offset by the past length, so it holds for any length and with a cache.
 * Seen on the TorchScript exports of LLaMA, GPT-2 and BERT, unfused and after `--preset fuse` / add-kv-cache.
 */
import { z } from 'zod';
import { definePass, type PassContext, type PassResult } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/node.js';
import { FactTable } from '../../src/pattern/facts.js';
import type { Locality } from './band.js';
import { applyToSite } from './apply.js';
import { findSites, probeCausal, type Site } from './sites.js';

const NAME = 'sparse-attention';

const options = z.object({
  mode: z.enum(['sliding', 'block']).default('sliding')
    .describe('sliding: each query sees the `window` tokens ending at itself; block: its own block of `blockSize` tokens and the previous one'),
  window: z.number().int().min(1).default(256).describe('sliding mode: tokens each query attends back to, itself included'),
  blockSize: z.number().int().min(1).default(64).describe('block mode: tokens per block'),
  sinks: z.number().int().min(0).default(0).describe('first tokens every query also attends to (attention sinks)'),
  bidirectional: z.boolean().default(false)
    .describe('also bound the keys after the query (|i - j| < window, or the next block): required for attention without a causal mask (encoders)'),
  layers: z.union([z.literal('all'), z.array(z.number().int().min(0))]).default('all')
    .describe('attention layers to make local, by position in graph order (0 = first)'),
}).strict();
type Options = z.output<typeof options>;

function selected(opts: Options, index: number): boolean {
  return opts.layers === 'all' || opts.layers.includes(index);
}

async function run(model: Model, opts: Options, ctx: PassContext): Promise<PassResult> {
  const graph = model.graph;
  const facts = new FactTable(graph);
  const sites = findSites(graph, facts);
  const chosen = sites.filter((_, i) => selected(opts, i));
  if (opts.layers !== 'all') {
    const missing = opts.layers.filter((i) => i >= sites.length);
    if (missing.length) ctx.warn(`${NAME}: the model has ${sites.length} attention layers; no layer ${missing.join(', ')}`);
  }
  if (!sites.length) ctx.explain(NAME, 'no attention found (fused attention operators, or a Softmax between two MatMuls)');
  // a symmetric band is right with or without a causal mask: no need to know which
  const causal = opts.bidirectional ? new Map<Node, boolean>() : await causalSoftmaxes(model, chosen, ctx);
  const locality: Locality = { mode: opts.mode, window: opts.window, blockSize: opts.blockSize, sinks: opts.sinks, symmetric: opts.bidirectional };
  const counts = { windowAttribute: 0, band: 0, refused: 0, skipped: 0 };
  for (const site of chosen) {
    const outcome = applyToSite(model, site, locality, { facts, causal: causal.get(site.node) ?? false, windowAttribute: ctx.target === 'cpu' });
    const where = `layer ${sites.indexOf(site)} (${site.node.describe()})`;
    if ('done' in outcome) {
      counts[outcome.done === 'band' ? 'band' : 'windowAttribute']++;
      ctx.explain(NAME, `${where}: ${outcome.done === 'band' ? 'band mask added' : `local_window_size ${opts.window}`}`);
    } else if ('skipped' in outcome) {
      counts.skipped++;
      ctx.explain(NAME, `${where}: left alone: ${outcome.skipped}`);
    } else {
      counts.refused++;
      ctx.explain(NAME, `${where}: refused: ${outcome.refused}`);
    }
  }
  if (counts.refused) ctx.warn(`${NAME}: ${counts.refused} of ${chosen.length} attention layers left dense (see --explain ${NAME})`);
  const changed = counts.band + counts.windowAttribute;
  return {
    modified: changed > 0,
    stats: {
      blocksChanged: changed,
      window: opts.mode === 'sliding' ? opts.window : 2 * opts.blockSize,
      sinks: opts.sinks,
      localWindowAttribute: counts.windowAttribute,
      bandMasks: counts.band,
      refused: counts.refused,
    },
  };
}

/** Which unfused attentions are causal; none when the model cannot be run on synthetic inputs (they are refused). */
async function causalSoftmaxes(model: Model, sites: readonly Site[], ctx: PassContext): Promise<Map<Node, boolean>> {
  try {
    return await probeCausal(model, sites.filter((s) => s.kind === 'softmax').map((s) => s.node), ctx.seed);
  } catch (e) {
    ctx.explain(NAME, `could not run the model to see which attention is causal (${(e as Error).message.split('\n')[0]})`);
    return new Map();
  }
}

export default definePass({
  name: NAME,
  description: 'make attention local (sliding window or blocks, optional attention sinks); changes the outputs, opt-in only',
  options,
  run,
});
