/**
 * GELU written out by exporters -> one operator:
 *
 *   erf form:   x * 0.5 * (1 + Erf(x / sqrt(2)))                        (BERT; any order of the products)
 *   tanh form:  x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3)))   (GPT-2 "gelu_new")
 *
 *   erf  -> com.microsoft BiasGelu(y, b) when x = y + b with b a constant vector, else Gelu (opset 20) or
 *           com.microsoft Gelu (older opsets)
 *   tanh -> com.microsoft FastGelu(x [, b]), or with target 'onnx' Gelu(approximate='tanh') (opset 20)
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { Capture } from '../../src/pattern/match.js';
import { fuseAll, type Plan } from '../../src/pattern/fuse.js';
import { nodeName } from '../../src/pattern/rewrite.js';
import { upgradeOpset } from '../legalize/upgrade-opset.js';
import { channelVector, channels, asVector } from './norm/common.js';

const Options = z.object({
  target: z.enum(['contrib', 'onnx']).default('contrib')
    .describe("contrib: com.microsoft BiasGelu/FastGelu/Gelu (onnxruntime); onnx: Gelu from opset 20 (upgrades the opset)"),
}).strict();

const SQRT2 = Math.SQRT2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-5 * Math.abs(b);

type Kind = 'erf' | 'tanh';
interface Gelu { readonly kind: Kind; readonly x: Value }

/** 1 + Erf(x / sqrt 2) or 1 + Tanh(...) -> the kind and x. */
function onePlus(v: Value, m: Capture): Gelu | undefined {
  const add = m.op(v, 'Add');
  return add && m.either(add, (t, one) => {
    if (m.scalar(one) !== 1) return undefined;
    const erf = m.attempt(() => m.op(t, 'Erf'));
    if (erf) {
      const x = erfArgument(erf.inputs[0]!, m);
      return x ? { kind: 'erf' as const, x } : undefined;
    }
    const tanh = m.op(t, 'Tanh');
    const x = tanh && tanhArgument(tanh.inputs[0]!, m);
    return x ? { kind: 'tanh' as const, x } : undefined;
  });
}

/** x / sqrt(2) or x * (1/sqrt(2)). */
function erfArgument(v: Value, m: Capture): Value | undefined {
  const n = m.op(v, ['Div', 'Mul']);
  if (!n) return undefined;
  if (n.opType === 'Div') return close(m.scalar(n.inputs[1]), SQRT2) ? n.inputs[0]! : m.fail('the erf argument is not x / sqrt(2)');
  return m.either(n, (x, c) => (close(m.scalar(c), 1 / SQRT2) ? x : undefined)) ?? m.fail('the erf argument is not x / sqrt(2)');
}

/** sqrt(2/pi) * (x + 0.044715 * x^3). */
function tanhArgument(v: Value, m: Capture): Value | undefined {
  const outer = m.op(v, 'Mul');
  return (outer && m.either(outer, (sum, k) => {
    if (!close(m.scalar(k), SQRT_2_OVER_PI)) return undefined;
    const add = m.op(sum, 'Add');
    return add && m.either(add, (x, cubic) => {
      const mul = m.op(cubic, 'Mul');
      return mul && m.either(mul, (p, a) => (close(m.scalar(a), 0.044715) && isCube(p, x, m) ? x : undefined));
    });
  })) ?? m.fail('the tanh argument is not sqrt(2/pi) * (x + 0.044715 x^3)');
}

function isCube(v: Value, x: Value, m: Capture): boolean {
  const p = m.op(v, ['Pow', 'Mul']);
  if (!p) return false;
  if (p.opType === 'Pow') return m.same(p.inputs[0], x) && m.scalar(p.inputs[1]) === 3;
  return !!m.either(p, (a, sq) => {
    const s = m.op(sq, 'Mul');
    return m.same(a, x) && s && m.same(s.inputs[0], x) && m.same(s.inputs[1], x) ? true : undefined;
  });
}

/** Operands of the product tree under `root` (Mul nodes at most two levels deep), not descending into `stop`. */
function factorsOf(root: Node, m: Capture, stop?: Value): Value[] {
  const out: Value[] = [];
  const walk = (n: Node, depth: number) => {
    for (const v of n.inputs) {
      if (!v) continue;
      const deeper = depth < 2 && m.scalar(v) === undefined && !(stop && m.same(v, stop));
      const inner = deeper ? m.attempt(() => m.op(v, 'Mul')) : undefined;
      if (inner) walk(inner, depth + 1);
      else out.push(v);
    }
  };
  walk(root, 0);
  return out;
}

/** The root's product tree: x * 0.5 * (1 + f(x)) in any grouping. */
function matchGelu(root: Node, m: Capture): Gelu | undefined {
  let seen = false;
  for (const t of factorsOf(root, new Capture(m.facts))) {
    const probe = new Capture(m.facts);
    const g = onePlus(t, probe);
    if (!g) continue;
    seen = true;
    const found = m.attempt(() => {
      const factors = factorsOf(root, m, g.x);
      const ts = factors.filter((f) => f === t);
      const xs = factors.filter((f) => m.same(f, g.x));
      const consts = factors.filter((f) => f !== t && !m.same(f, g.x));
      const product = consts.reduce((p, c) => p * (m.scalar(c) ?? NaN), 1);
      return ts.length === 1 && xs.length === 1 && close(product, 0.5) ? onePlus(t, m) : undefined;
    });
    if (found) return found;
  }
  return seen ? m.fail('the product is not x * 0.5 * (1 + f(x))') : undefined;
}

/** x = y + b with b a constant per-channel vector -> y, b. */
function biasOf(x: Value, m: Capture): { y: Value; b: Value } | undefined {
  const c = channels(x, m);
  return c === undefined ? undefined : m.attempt(() => {
    const add = m.op(x, 'Add');
    return add && m.either(add, (y, b) => {
      const vec = channelVector(b, c, m);
      return vec && m.facts.shape(y)?.length === m.facts.shape(x)?.length ? { y, b: vec } : undefined;
    });
  });
}

export default definePass({
  name: 'fuse-gelu',
  description: 'fuse erf and tanh GELU subgraphs into Gelu, FastGelu or BiasGelu',
  options: Options,
  requires: ['topo-sorted'],
  async run(model, options, ctx) {
    const graph = model.graph;
    if (options.target === 'onnx' && (model.opsetVersion('') ?? 1) < 20) upgradeOpset(model, 20);
    const opset = model.opsetVersion('') ?? 1;
    const counts = { erf: 0, tanh: 0, withBias: 0 };
    const roots = graph.nodesOfType('Mul').reverse();
    await fuseAll(graph, ctx, 'fuse-gelu', roots, (root, m): Plan | undefined => {
      const g = matchGelu(root, m);
      if (!g) return undefined;
      const bias = options.target === 'contrib' ? biasOf(g.x, m) : undefined;
      const c = bias ? channels(g.x, m)! : 0;
      const [op, domain] = options.target === 'onnx' || (g.kind === 'erf' && !bias && opset >= 20)
        ? ['Gelu', ''] : g.kind === 'tanh' ? ['FastGelu', 'com.microsoft'] : bias ? ['BiasGelu', 'com.microsoft'] : ['Gelu', 'com.microsoft'];
      return {
        summary: `${g.kind} GELU -> ${domain ? `${domain}.` : ''}${op}${bias ? ' with the bias folded in' : ''}`,
        build: () => {
          if (domain) model.requireOpset(domain, 1);
          const inputs = bias ? [bias.y, asVector(graph, bias.b, c)] : [g.x];
          const attributes = domain === '' && g.kind === 'tanh' ? { approximate: { type: 'string' as const, value: 'tanh' } } : undefined;
          const node = graph.addNode({ opType: op, domain, inputs, before: root, name: nodeName(graph, root, 'fuse-gelu'), ...(attributes ? { attributes } : {}) });
          counts[g.kind]++;
          if (bias) counts.withBias++;
          return { outputs: [node.output(0)] };
        },
      };
    });
    return { modified: counts.erf + counts.tanh > 0, stats: { erf: counts.erf, tanh: counts.tanh, withBias: counts.withBias } };
  },
});
