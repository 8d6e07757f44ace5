/**
 * Residual Add + normalisation -> one com.microsoft operator that also returns the sum when later layers
 * read it (the residual stream):
 *
 *   a ─┬─ [Add(bias)] ─┐
 *      skip ───────── Add ─┬─ LayerNormalization(gamma, beta)        -> y
 *                          └─ (next residual Add)                      -> sum
 *
 *   -> SkipLayerNormalization(a, skip, gamma, beta, bias) -> y, _, _, sum
 *   -> SkipSimplifiedLayerNormalization(a, skip, gamma, bias) -> y, _, _, sum   (from SimplifiedLayerNormalization)
 *
 * Run after fuse-layer-norm / fuse-rms-norm. Seen in BERT (post-norm), GPT-2 and LLaMA (pre-norm) exports.
 * By default not for target cpu, where onnxruntime runs the Add and the norm faster than the fused kernel.
 */
import { z } from 'zod';
import { definePass, type Target } from '../../src/pipeline/pass.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import type { Capture } from '../../src/pattern/match.js';
import { fuseAll, type Plan } from '../../src/pattern/fuse.js';
import { dimEquals, numbers } from '../../src/pattern/sym.js';
import { nodeName } from '../../src/pattern/rewrite.js';
import { asVector, channelVector } from './norm/common.js';

const Options = z.object({
  foldBias: z.boolean().default(true).describe('fold a constant bias Add on one residual branch into the bias input'),
  when: z.enum(['auto', 'always']).default('auto')
    .describe("auto: not for target cpu, where onnxruntime's Skip*Normalization kernels measure slower than Add + norm; always: fuse for any target"),
}).strict();

/**
 * Targets whose Skip*Normalization kernels are slower than the Add and the norm they replace. Measured with
 * onnxruntime-node 1.30 CPU, fp32, [1, 128, 256]: SkipLayerNormalization 166 us vs Add 9 + LayerNormalization
 * 21 us; SkipSimplifiedLayerNormalization 40 us vs 9 + 12 us.
 */
const SLOWER: readonly Target[] = ['cpu'];

/** The norm's own checks: last axis, only the normalised output read, per-channel parameters. */
function normParams(norm: Node, c: number, m: Capture): { gamma: Value; beta?: Value } | undefined {
  if (m.axis(norm, -1) !== (m.facts.rank(norm.inputs[0]) ?? 0) - 1) return m.fail('the normalisation is not over the last axis');
  if (norm.outputs.slice(1).some((o) => o && !o.isUnused)) return m.fail('the mean or inverse deviation output is read');
  const gamma = norm.inputs[1] && channelVector(norm.inputs[1], c, m);
  const beta = norm.inputs[2] ? channelVector(norm.inputs[2], c, m) : undefined;
  if (!gamma || (norm.inputs[2] && !beta)) return m.fail(`scale or shift is not a constant vector of ${c}`);
  return { gamma, ...(beta ? { beta } : {}) };
}

/** skip may be [batch, seq, c], [1, seq, c] or [seq, c] against an input of [batch, seq, c]. */
function skipShapeOk(input: Value, skip: Value, m: Capture): boolean {
  const a = m.facts.shape(input), b = m.facts.shape(skip);
  if (!a || !b || a.length !== 3 || b.length < 2 || b.length > 3) return false;
  const tail = (s: typeof a, n: number) => s.slice(s.length - n);
  if (!tail(a, 2).every((d, i) => dimEquals(d, tail(b, 2)[i]))) return false;
  return b.length === 2 || dimEquals(a[0], b[0]) || b[0]?.value === 1;
}

export default definePass({
  name: 'fuse-skip-norm',
  description: 'fuse a residual Add and the normalisation after it into SkipLayerNormalization / SkipSimplifiedLayerNormalization',
  options: Options,
  requires: ['topo-sorted'],
  async run(model, options, ctx) {
    const graph = model.graph;
    const counts = { layer: 0, simplified: 0, withBias: 0, sumExposed: 0 };
    if (options.when === 'auto' && SLOWER.includes(ctx.target)) {
      ctx.explain('fuse-skip-norm', `skipped for target ${ctx.target}: the fused kernels are slower there (use when: 'always' to fuse anyway)`);
      return { modified: false, stats: { skipLayerNorm: 0, skipSimplifiedLayerNorm: 0, withBias: 0, sumExposed: 0 } };
    }
    const roots = graph.nodes.filter((n) => n.domain === '' && ['LayerNormalization', 'SimplifiedLayerNormalization', 'RMSNormalization'].includes(n.opType));
    await fuseAll(graph, ctx, 'fuse-skip-norm', roots, (norm, m): Plan | undefined => {
      const add = m.op(norm.inputs[0], 'Add');
      if (!add) return undefined;
      const shape = numbers(m.facts.shape(add.output(0))?.slice(-1));
      const c = shape?.[0];
      if (c === undefined) return m.fail('the channel count is not static');
      const params = normParams(norm, c, m);
      if (!params) return undefined;
      const branches = m.either(add, (a, skip) => {
        if (m.source(a).initializer || m.source(skip).initializer) return undefined;
        const biased = options.foldBias ? m.attempt(() => {
          const inner = m.op(a, 'Add');
          return inner && m.either(inner, (y, b) => {
            const vec = !m.source(y).initializer ? channelVector(b, c, m) : undefined;
            return vec && skipShapeOk(y, skip, m) ? { input: y, skip, bias: vec } : undefined;
          });
        }) : undefined;
        return biased ?? (skipShapeOk(a, skip, m) ? { input: a, skip, bias: undefined } : undefined);
      });
      if (!branches) return m.fail('the residual operands do not have compatible [batch, sequence, channels] shapes');
      const sum = add.output(0);
      const exposes = sum.uses.some((u) => u.node !== norm) || sum.isGraphOutput ? [sum] : [];
      const simplified = norm.opType !== 'LayerNormalization';
      const op = simplified ? 'SkipSimplifiedLayerNormalization' : 'SkipLayerNormalization';
      return {
        summary: `${op}${branches.bias ? ' with the bias folded in' : ''}${exposes.length ? ', exposing the residual sum' : ''}`,
        exposes,
        build: () => {
          model.requireOpset('com.microsoft', 1);
          const bias = branches.bias ? asVector(graph, branches.bias, c) : null;
          const gamma = asVector(graph, params.gamma, c);
          const inputs = simplified
            ? [branches.input, branches.skip, gamma, bias]
            : [branches.input, branches.skip, gamma, params.beta ? asVector(graph, params.beta, c) : null, bias];
          while (inputs[inputs.length - 1] === null) inputs.pop();
          const name = nodeName(graph, norm, 'fuse-skip-norm');
          const outputs = exposes.length ? [model.freshName(`${name}_out`), '', '', model.freshName(`${name}_sum`)] : [model.freshName(`${name}_out`)];
          const epsilon = norm.getFloat('epsilon', 1e-5);
          const node = graph.addNode({ opType: op, domain: 'com.microsoft', name, inputs, outputs, before: norm, attributes: { epsilon: { type: 'float', value: epsilon } } });
          counts[simplified ? 'simplified' : 'layer']++;
          if (bias) counts.withBias++;
          if (exposes.length) counts.sumExposed++;
          return { outputs: [node.output(0)], exposed: exposes.length ? [[sum, node.output(3)]] : [] };
        },
      };
    });
    const fused = counts.layer + counts.simplified;
    return { modified: fused > 0, stats: { skipLayerNorm: counts.layer, skipSimplifiedLayerNorm: counts.simplified, withBias: counts.withBias, sumExposed: counts.sumExposed } };
  },
});
