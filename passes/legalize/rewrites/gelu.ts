/**
 * onnxruntime's GELU ops -> standard ops:
 *   Gelu(x)            -> Gelu-20(x)                     | 0.5 * x * (1 + erf(x / sqrt 2))
 *   BiasGelu(x, b)     -> Gelu-20(x + b)                 | same on x + b
 *   FastGelu(x[, b])   -> Gelu-20(x (+ b), 'tanh')       | 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
 *   QuickGelu(x)       -> x * Sigmoid(alpha * x)
 * Seen after fuse-gelu on GPT-2 (tanh) and BERT (erf with bias) exports.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { Emitter, replaceNode } from './emit.js';
import { requireOpset } from './opset.js';
import type { Rewrite, RewriteContext } from './context.js';

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_PI = Math.sqrt(2 / Math.PI);

function gelu(ctx: RewriteContext, e: Emitter, x: Value, tanh: boolean): Value {
  if (ctx.profile.forms.gelu === 'opset20') {
    requireOpset(ctx.model, 20);
    return e.node('Gelu', [x], tanh ? { approximate: { type: 'string', value: 'tanh' } } : {}).output(0);
  }
  const inner = tanh
    ? e.op('Tanh', [e.op('Mul', [e.op('Add', [x, e.op('Mul', [e.f('c', [0.044715]), e.op('Mul', [x, e.op('Mul', [x, x])])])]), e.f('sqrt_2_pi', [SQRT_2_PI])])])
    : e.op('Erf', [e.op('Mul', [x, e.f('sqrt1_2', [SQRT1_2])])]);
  return e.op('Mul', [e.op('Mul', [x, e.f('half', [0.5])]), e.op('Add', [inner, e.f('one', [1])])]);
}

function biased(e: Emitter, node: Node): Value {
  const b = node.inputs[1];
  return b ? e.op('Add', [node.input(0), b]) : node.input(0);
}

export const geluRewrite: Rewrite = {
  name: 'gelu',
  applies: (ctx) => ctx.profile.forms.gelu !== 'contrib',
  run(ctx) {
    for (const node of [...ctx.model.graph.nodes]) {
      if (node.domain !== 'com.microsoft' || !ctx.rejectsOp(node)) continue;
      const e = new Emitter(node, ctx.types.get(node.input(0)) ?? DType.FLOAT);
      let y: Value;
      switch (node.opType) {
        case 'Gelu': y = gelu(ctx, e, node.input(0), false); break;
        case 'BiasGelu': y = gelu(ctx, e, biased(e, node), false); break;
        case 'FastGelu': y = gelu(ctx, e, biased(e, node), true); break;
        case 'QuickGelu': {
          const x = node.input(0);
          y = e.op('Mul', [x, e.op('Sigmoid', [e.op('Mul', [x, e.f('alpha', [node.getFloat('alpha', 1.702)])])])]);
          break;
        }
        default: continue;
      }
      replaceNode(node, [y]);
      ctx.count('gelus');
    }
  },
};
