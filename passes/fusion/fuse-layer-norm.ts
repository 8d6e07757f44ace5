/**
 * Layer normalisation written out by exporters -> one operator:
 *
 *   x ─┬─ ReduceMean(last) ─┐
 *      └────────────────── Sub ─┬─ Pow(2) ─ ReduceMean(last) ─ Add(eps) ─ Sqrt ─┐
 *                               └──────────────────────────────────────── Div ──┴─ Mul(gamma) ─ Add(beta) -> y
 *   (also d * Reciprocal(·), d * Pow(·, -0.5), d*d for the square, gamma/beta absent, no-op Casts anywhere)
 *
 *   -> LayerNormalization(x, gamma, beta, axis=-1, epsilon)         (opset 17; onnxruntime runs it at any opset)
 *
 * Seen in exports that spell LayerNorm out (older torch exporters, TensorFlow converters, hand-built graphs).
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import type { Value } from '../../src/ir/value.js';
import type { Capture } from '../../src/pattern/match.js';
import { fuseAll, type Plan } from '../../src/pattern/fuse.js';
import { nodeName } from '../../src/pattern/rewrite.js';
import { asVector, channelVector, channels, filled, meanOverLast, squared } from './norm/common.js';

interface Norm { readonly x: Value; readonly eps: number }

/** x - mean(x) -> x. */
function centered(v: Value | null | undefined, m: Capture): Value | undefined {
  const sub = m.op(v, 'Sub');
  const mean = sub && meanOverLast(sub.inputs[1], m);
  return mean && m.same(sub.inputs[0], mean.inputs[0]) ? sub.inputs[0]! : m.fail('the centred value is not x - mean(x)');
}

/** var(x) + eps, where var is mean((x - mean(x))^2): -> the centred value d, eps. */
function varianceEps(v: Value | null | undefined, m: Capture): { d: Value; eps: number } | undefined {
  const add = m.op(v, 'Add');
  if (!add) return undefined;
  return m.either(add, (a, e) => {
    const eps = m.scalar(e);
    if (eps === undefined) return m.fail('epsilon is not a constant scalar');
    const mean = meanOverLast(a, m);
    const d = mean && squared(mean.inputs[0], m);
    return d ? { d, eps } : undefined;
  });
}

/** (x - mean) / sqrt(var + eps) in its spellings -> x, eps. */
function normalized(v: Value | null | undefined, m: Capture): Norm | undefined {
  const n = m.op(v, ['Div', 'Mul']);
  if (!n) return undefined;
  const finish = (d: Value, r: { d: Value; eps: number } | undefined): Norm | undefined => {
    if (!r) return undefined;
    if (!m.same(d, r.d)) return m.fail('the normalised value is not the centred one');
    const x = centered(r.d, m);
    return x ? { x, eps: r.eps } : undefined;
  };
  if (n.opType === 'Div') {
    const sqrt = m.op(n.inputs[1], 'Sqrt');
    return sqrt ? finish(n.inputs[0]!, varianceEps(sqrt.inputs[0], m)) : undefined;
  }
  return m.either(n, (d, inv) => {
    const r = m.op(inv, ['Reciprocal', 'Pow']);
    if (!r) return undefined;
    if (r.opType === 'Pow') return m.scalar(r.inputs[1]) === -0.5 ? finish(d, varianceEps(r.inputs[0], m)) : undefined;
    const sqrt = m.op(r.inputs[0], 'Sqrt');
    return sqrt ? finish(d, varianceEps(sqrt.inputs[0], m)) : undefined;
  });
}

interface Affine extends Norm { readonly gamma?: Value; readonly beta?: Value }

/** [Add(beta)] of [Mul(gamma)] of the normalised value. */
function affine(root: Value, m: Capture): Affine | undefined {
  const scaled = (v: Value): Affine | undefined => {
    const mul = m.attempt(() => {
      const node = m.op(v, 'Mul');
      return node && m.either(node, (n, g) => {
        const r = m.source(g).initializer ? normalized(n, m) : undefined;
        return r ? { ...r, gamma: g } : undefined;
      });
    });
    return mul ?? m.attempt(() => normalized(v, m));
  };
  const shifted = m.attempt(() => {
    const add = m.op(root, 'Add');
    return add && m.either(add, (s, b) => {
      const r = m.source(b).initializer ? scaled(s) : undefined;
      return r ? { ...r, beta: b } : undefined;
    });
  });
  return shifted ?? scaled(root);
}

export default definePass({
  name: 'fuse-layer-norm',
  description: 'fuse decomposed layer normalisation (mean, variance, scale, shift) into LayerNormalization',
  options: z.object({}).strict(),
  requires: ['topo-sorted'],
  async run(model, _options, ctx) {
    const graph = model.graph;
    // last-to-first: the outermost Add(beta) is tried before the inner Div
    const roots = graph.nodes.filter((n) => n.domain === '' && ['Add', 'Mul', 'Div'].includes(n.opType)).reverse();
    const fused = await fuseAll(graph, ctx, 'fuse-layer-norm', roots, (root, m): Plan | undefined => {
      const r = affine(root.output(0), m);
      if (!r) return undefined;
      const c = channels(r.x, m);
      const dtype = m.facts.dtype(r.x);
      if (c === undefined || dtype === undefined) return m.fail('the normalised axis has no static size');
      const gamma = r.gamma && channelVector(r.gamma, c, m);
      const beta = r.beta && channelVector(r.beta, c, m);
      if ((r.gamma && !gamma) || (r.beta && !beta)) return m.fail(`scale or shift is not a constant vector of ${c}`);
      return {
        summary: `LayerNormalization over ${c} channels (epsilon ${r.eps})`,
        build: () => {
          const scale = gamma ? asVector(graph, gamma, c) : filled(graph, `${root.name}_ones`, dtype, c, 1);
          const node = graph.addNode({
            opType: 'LayerNormalization', name: nodeName(graph, root, 'fuse-layer-norm'), before: root,
            inputs: [r.x, scale ?? null, beta ? asVector(graph, beta, c) : null],
            attributes: { axis: { type: 'int', value: -1 }, epsilon: { type: 'float', value: r.eps }, stash_type: { type: 'int', value: 1 } },
          });
          return { outputs: [node.output(0)] };
        },
      };
    });
    return { modified: fused > 0, stats: { fused } };
  },
});
