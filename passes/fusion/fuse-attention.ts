/**
 * Scaled dot-product attention subgraphs -> one fused operator per block (see attention/core.ts for the
 * matched computation: head split/merge, scale on Q, K or scores, mask added or applied with Where,
 * grouped-query head repeat, rotate-half RoPE).
 *
 *   target contrib (default, onnxruntime CPU fp32):
 *     causal mask and (RoPE or grouped heads) -> com.microsoft GroupQueryAttention, RoPE inside (do_rotary)
 *     otherwise -> com.microsoft MultiHeadAttention (unidirectional for causal masks, key_padding_mask for
 *                  padding masks, attention_bias for other additive masks), RoPE as com.microsoft RotaryEmbedding
 *   target portable: RotaryEmbedding-23 + Attention-23 (the model is upgraded to opset 23)
 *
 * Masks and rotary tables are recognised by running them on synthetic inputs (attention/mask.ts,
 * attention/rope-cache.ts), not by their node pattern. Seen in torch.onnx TorchScript exports of
 * transformers' LLaMA (GQA + RoPE), GPT-2 and BERT with eager attention.
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { fuseAll, type Plan } from '../../src/pattern/fuse.js';
import { Capture } from '../../src/pattern/match.js';
import { matchProjections } from './attention/projections.js';
import { float32 } from '../../src/pattern/rewrite.js';
import { upgradeOpset } from '../legalize/upgrade-opset.js';
import { matchCore, type Core, type MaskSpec } from './attention/core.js';
import { biasShape, classifyMask, type AttentionDims, type MaskClass } from './attention/mask.js';
import { checkRope } from './attention/rope-cache.js';
import { emit, shared, type Emitter, type Form } from './attention/emit.js';

const Options = z.object({
  target: z.enum(['contrib', 'portable']).default('contrib')
    .describe('contrib: com.microsoft GroupQueryAttention/MultiHeadAttention/RotaryEmbedding; portable: opset-23 Attention/RotaryEmbedding'),
  groupQuery: z.boolean().default(true).describe('emit GroupQueryAttention for causal attention with RoPE or grouped key/value heads'),
  packProjections: z.boolean().default(true)
    .describe('fold the Q/K/V projections into one packed weight: com.microsoft Attention, or GroupQueryAttention\'s packed input'),
}).strict();
type Options = z.output<typeof Options>;

interface Caches {
  readonly masks: Map<string, Promise<MaskClass>>;
  readonly ropes: Map<string, Promise<string | undefined>>;
}

function chooseForm(core: Core, mask: MaskClass, options: Options, packable: boolean): Form {
  if (options.target === 'portable') return 'portable';
  const q = core.q;
  const gqaShape = (core.k.times > 1 || !!q.rope) && q.heads.headSize === core.v.heads.headSize;
  const sameTables = !q.rope || (q.rope.cos === core.k.rope?.cos && q.rope.sin === core.k.rope?.sin);
  const rotaryOk = !q.rope || q.heads.headSize % 16 === 0;   // GroupQueryAttention's rotary needs head sizes in 16s
  if (options.groupQuery && mask.kind === 'causal' && gqaShape && sameTables && rotaryOk) return 'gqa';
  return packable && !q.rope && core.k.times === 1 && q.heads.headSize === core.k.heads.headSize ? 'attention' : 'mha';
}

/** Where(cond, scores, fill) as an additive mask: Where(cond, 0, fill). */
function additiveOf(graph: Emitter['graph'], root: Node, spec: MaskSpec): Value {
  if (spec.kind === 'add') return spec.value;
  const zero = float32(graph, 'mask_open', [0], []);
  const fill = float32(graph, 'mask_fill', [spec.fill], []);
  const [a, b] = spec.keepWhen ? [zero, fill] : [fill, zero];
  return graph.addNode({ opType: 'Where', inputs: [spec.cond, a, b], before: root, name: graph.model.freshNodeName(`${root.name}_mask`) }).output(0);
}

function describe(core: Core, mask: MaskClass, form: Form, packed: boolean): string {
  const op = { gqa: 'GroupQueryAttention', mha: 'MultiHeadAttention', attention: 'Attention', portable: 'Attention-23' }[form];
  const heads = core.k.times > 1 ? `${core.q.heads.heads} query / ${core.k.heads.heads} key-value heads` : `${core.q.heads.heads} heads`;
  const m = mask.kind === 'padding' ? `padding mask from '${mask.input.name}'${mask.causal ? ' + causal' : ''}` : `${mask.kind} mask`;
  return `${op}: ${heads} of ${core.q.heads.headSize}, scale ${core.scale.toPrecision(6)}, ${m}${core.q.rope ? ', rotary' : ''}${packed ? ', packed Q/K/V projections' : ''}`;
}

export default definePass({
  name: 'fuse-attention',
  description: 'fuse scaled dot-product attention (with masks, grouped heads and RoPE) into MultiHeadAttention, GroupQueryAttention or Attention-23',
  options: Options,
  requires: ['topo-sorted'],
  async run(model, options, ctx) {
    const graph = model.graph;
    if (options.target === 'portable' && (model.opsetVersion('') ?? 1) < 23) upgradeOpset(model, 23);
    const caches: Caches = { masks: new Map(), ropes: new Map() };
    const emitter: Emitter = { model, graph, shared: new Map() };
    const counts = { gqa: 0, mha: 0, attention: 0, portable: 0, rotary: 0, packed: 0 };
    const match = async (root: Node, m: Capture): Promise<Plan | undefined> => {
      const core = matchCore(root, m);
      if (!core) return undefined;
      const d: AttentionDims = { batch: core.q.heads.batch, seq: core.q.heads.seq, kvSeq: core.k.heads.seq, heads: core.q.heads.heads };
      const mask = core.mask ? await cached(caches.masks, maskKey(core.mask), () => classifyMask(model, m.facts, core.mask!, d, 5)) : { kind: 'none' as const };
      if (mask.kind === 'unsupported') return m.fail(`unsupported mask: ${mask.reason}`);
      for (const r of [core.q.rope, core.k.rope]) {
        if (!r) continue;
        const dims = { batchDim: String(d.batch), seqDim: String(d.seq) };
        const problem = await cached(caches.ropes, `${r.cos.name}|${r.sin.name}`, () => checkRope(model, m.facts, r, dims));
        if (problem) return m.fail(problem);
      }
      // packing is decided on a throwaway capture first: the projections join the pattern only when used
      const packable = options.target === 'contrib' && options.packProjections && !!matchProjections(core, new Capture(m.facts));
      const form = chooseForm(core, mask, options, packable);
      const projections = packable && (form === 'attention' || form === 'gqa') ? matchProjections(core, m) : undefined;
      const passes = mask.kind === 'bias' || (form === 'portable' && mask.kind === 'padding');
      if (passes && !biasShape(m.facts, core.mask!.kind === 'add' ? core.mask!.value : core.mask!.cond, d)) {
        return m.fail('the mask cannot be passed as a [B|1, H|1, S|1, T] bias');
      }
      const rank = (v: Value) => m.facts.rank(v) ?? 4;
      return {
        summary: describe(core, mask, form, !!projections),
        build: () => {
          const key = core.mask && maskKey(core.mask);
          const additive = core.mask ? () => shared(emitter, `additive:${key}`, () => additiveOf(graph, root, core.mask!)) : undefined;
          const expandMask = !!core.mask && biasShape(m.facts, core.mask.kind === 'add' ? core.mask.value : core.mask.cond, d) === 'expand';
          const out = emit(emitter, root, {
            core, mask, form, rank, expandMask, ...(key ? { maskKey: key } : {}), ...(additive ? { additive } : {}), ...(projections ? { projections } : {}),
          });
          counts[form]++;
          if (core.q.rope) counts.rotary++;
          if (projections) counts.packed++;
          return { outputs: [out] };
        },
      };
    };
    await fuseAll(graph, ctx, 'fuse-attention', graph.nodesOfType('Reshape'), match);
    const fused = counts.gqa + counts.mha + counts.attention + counts.portable;
    return {
      modified: fused > 0,
      stats: { groupQueryAttention: counts.gqa, multiHeadAttention: counts.mha, attention: counts.attention, attention23: counts.portable, rotary: counts.rotary, packedProjections: counts.packed },
    };
  },
});

function maskKey(spec: MaskSpec): string {
  return spec.kind === 'add' ? `add:${spec.value.name}` : `where:${spec.cond.name}:${spec.keepWhen}:${spec.fill}`;
}

function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const known = map.get(key);
  if (known) return known;
  const p = make();
  map.set(key, p);
  return p;
}
