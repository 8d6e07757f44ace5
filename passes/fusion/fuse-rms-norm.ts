/**
 * RMS normalisation written out by exporters -> one operator:
 *
 *   x ─┬─ Pow(2) ─ ReduceMean(last) ─ Add(eps) ─ Sqrt ─ Reciprocal | Div(1, ·) ─┐
 *      └──────────────────────────────────────────────────────────── Mul ────────┴─ Mul(weight) -> y
 *   (also x / Sqrt(·), Pow(·, -0.5) for the reciprocal, x*x for the square, no-op Casts anywhere)
 *
 *   -> SimplifiedLayerNormalization(x, weight, axis=-1, epsilon)      (domain '', runs in onnxruntime)
 *   -> RMSNormalization(x, weight, axis=-1, epsilon)                  (opset >= 23)
 *
 * Seen in LLaMA-family exports (transformers' LlamaRMSNorm through torch.onnx), fp32.
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import type { Value } from '../../src/ir/value.js';
import type { Capture } from '../../src/pattern/match.js';
import { fuseAll, type Plan } from '../../src/pattern/fuse.js';
import { nodeName } from '../../src/pattern/rewrite.js';
import { asVector, channelVector, channels, filled, meanOverLast, squared } from './norm/common.js';

const Options = z.object({
  op: z.enum(['auto', 'simplified', 'rms']).default('auto')
    .describe('operator to emit: SimplifiedLayerNormalization, RMSNormalization (opset 23), or auto (RMSNormalization when the model is at opset 23 or later)'),
}).strict();

interface Rms { readonly x: Value; readonly eps: number }

/** eps + mean(x^2) -> x, eps. */
function meanSquarePlusEps(v: Value | null | undefined, m: Capture): Rms | undefined {
  const add = m.op(v, 'Add');
  if (!add) return undefined;
  return m.either(add, (ms, e) => {
    const eps = m.scalar(e);
    if (eps === undefined) return m.fail('epsilon is not a constant scalar');
    const mean = meanOverLast(ms, m);
    const x = mean && squared(mean.inputs[0], m);
    return x ? { x, eps } : undefined;
  });
}

/** 1 / sqrt(mean(x^2) + eps) in its spellings. */
function inverseRms(v: Value, m: Capture): Rms | undefined {
  const r = m.op(v, ['Reciprocal', 'Div', 'Pow']);
  if (!r) return undefined;
  if (r.opType === 'Pow') return m.scalar(r.inputs[1]) === -0.5 ? meanSquarePlusEps(r.inputs[0], m) : undefined;
  if (r.opType === 'Div' && m.scalar(r.inputs[0]) !== 1) return undefined;
  const sqrt = m.op(r.opType === 'Div' ? r.inputs[1] : r.inputs[0], 'Sqrt');
  return sqrt ? meanSquarePlusEps(sqrt.inputs[0], m) : undefined;
}

/** x * inverseRms(x) or x / sqrt(mean(x^2) + eps). */
export function rmsNormalized(v: Value | null | undefined, m: Capture): Rms | undefined {
  const n = m.op(v, ['Mul', 'Div']);
  if (!n) return undefined;
  if (n.opType === 'Div') {
    const sqrt = m.op(n.inputs[1], 'Sqrt');
    const r = sqrt && meanSquarePlusEps(sqrt.inputs[0], m);
    if (!r) return undefined;
    return m.same(n.inputs[0], r.x) ? r : m.fail('the divided value is not the one normalised');
  }
  return m.either(n, (a, b) => {
    const r = inverseRms(b, m);
    return r && m.same(a, r.x) ? r : undefined;
  });
}

export default definePass({
  name: 'fuse-rms-norm',
  description: 'fuse decomposed RMS normalisation into SimplifiedLayerNormalization or RMSNormalization',
  options: Options,
  requires: ['topo-sorted'],
  async run(model, options, ctx) {
    const graph = model.graph;
    const opset = model.opsetVersion('') ?? 1;
    const op = options.op === 'rms' || (options.op === 'auto' && opset >= 23) ? 'RMSNormalization' : 'SimplifiedLayerNormalization';
    if (op === 'RMSNormalization' && opset < 23) {
      ctx.warn('fuse-rms-norm: RMSNormalization needs opset 23; run upgrade-opset first');
      return { modified: false, stats: { fused: 0 } };
    }
    // roots last-to-first: the weight Mul is seen before the inner x * 1/rms, so the weight is folded in
    const roots = graph.nodes.filter((n) => n.domain === '' && (n.opType === 'Mul' || n.opType === 'Div')).reverse();
    const fused = await fuseAll(graph, ctx, 'fuse-rms-norm', roots, (root, m): Plan | undefined => {
      const weighted = root.opType === 'Mul' ? m.either(root, (w, n) => {
        if (!m.source(w).initializer) return undefined;
        const r = rmsNormalized(n, m);
        return r ? { ...r, weight: w } : undefined;
      }) : undefined;
      const r = weighted ?? m.attempt(() => rmsNormalized(root.output(0), m));
      if (!r) return undefined;
      const c = channels(r.x, m);
      const dtype = m.facts.dtype(r.x);
      if (c === undefined || dtype === undefined) return m.fail('the normalised axis has no static size');
      const weight = weighted ? channelVector(weighted.weight, c, m) : undefined;
      if (weighted && !weight) return m.fail(`the scale is not a constant vector of ${c}`);
      return {
        summary: `${op} over ${c} channels (epsilon ${r.eps})`,
        build: () => {
          const scale = weight ? asVector(graph, weight, c) : filled(graph, `${root.name}_ones`, dtype, c, 1);
          const node = graph.addNode({
            opType: op, name: nodeName(graph, root, 'fuse-rms-norm'), inputs: [r.x, scale ?? null], before: root,
            attributes: { axis: { type: 'int', value: -1 }, epsilon: { type: 'float', value: r.eps }, stash_type: { type: 'int', value: 1 } },
          });
          return { outputs: [node.output(0)] };
        },
      };
    });
    return { modified: fused > 0, stats: { fused } };
  },
});
