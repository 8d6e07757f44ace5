/**
 * onnxruntime's fused norms -> standard ops:
 *   SkipLayerNormalization(x, skip, gamma[, beta][, bias])  ->  s = x + skip (+ bias); LayerNormalization-17(s, gamma, beta)
 *   SkipSimplifiedLayerNormalization(x, skip, gamma[, bias]) ->  s = x + skip (+ bias); rms(s, gamma)
 *   SimplifiedLayerNormalization(x, gamma)                   ->  rms(x, gamma)
 *   RMSNormalization-23(x, gamma)                            ->  primitives, where the target takes no opset-23 norm
 * rms is RMSNormalization-23 or x / sqrt(mean(x*x) + eps) * gamma (computed in float32 for 16-bit inputs).
 * The skip sum output (index 3) keeps its readers; the mean / inverse-deviation outputs must be unused.
 * Seen after fuse-skip-norm / fuse-rms-norm on LLaMA, GPT-2 and BERT exports.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { requireOpset } from './opset.js';
import { Emitter, float, int, isUsed, replaceNode } from './emit.js';
import { cast, reduceMean } from './ops.js';
import type { Rewrite, RewriteContext } from './context.js';

function lastAxis(node: Node): boolean {
  const axis = node.getInt('axis', -1);
  const rank = node.input(0).type?.shape?.length;
  return axis === -1 || (rank !== undefined && axis === rank - 1);
}

/** y = rms(x) * gamma over the last axis in the target's form. */
function rms(ctx: RewriteContext, root: Node, x: Value, gamma: Value, epsilon: number): Value {
  const type = ctx.types.get(root.input(0)) ?? DType.FLOAT;
  if (ctx.profile.forms.rmsNorm === 'opset23') {
    requireOpset(ctx.model, 23);
    return new Emitter(root, type).op('RMSNormalization', [x, gamma], { axis: int(-1), epsilon: float(epsilon) });
  }
  const e = new Emitter(root, DType.FLOAT);
  const wide = type === DType.FLOAT ? x : cast(e, x, DType.FLOAT);
  const mean = reduceMean(e, e.op('Mul', [wide, wide]), [-1]);
  const normed = e.op('Div', [wide, e.op('Sqrt', [e.op('Add', [mean, e.f('epsilon', [epsilon])])])]);
  const back = type === DType.FLOAT ? normed : cast(e, normed, type);
  return e.op('Mul', [back, gamma]);
}

function skipSum(e: Emitter, node: Node, biasIndex: number): Value {
  const sum = e.op('Add', [node.input(0), node.input(1)]);
  const bias = node.inputs[biasIndex];
  return bias ? e.op('Add', [sum, bias]) : sum;
}

function statsUnused(ctx: RewriteContext, node: Node): boolean {
  if (isUsed(node, 1) || isUsed(node, 2)) { ctx.explain(node, 'mean or inverse standard deviation output is read'); return false; }
  return true;
}

export const normRewrite: Rewrite = {
  name: 'norms',
  applies: () => true,
  run(ctx) {
    for (const node of ctx.nodes('SkipLayerNormalization', ['com.microsoft'])) {
      if (!ctx.rejectsOp(node) || !statsUnused(ctx, node)) continue;
      requireOpset(ctx.model, 17);
      const e = new Emitter(node);
      const sum = skipSum(e, node, 4);
      const ln = e.op('LayerNormalization', [sum, node.input(2), node.inputs[3] ?? null], { axis: int(-1), epsilon: float(node.getFloat('epsilon', 1e-12)) });
      replaceNode(node, [ln, null, null, sum]);
      ctx.count('skipLayerNorms');
    }
    for (const node of ctx.nodes('SkipSimplifiedLayerNormalization', ['com.microsoft'])) {
      if (!ctx.rejectsOp(node) || !statsUnused(ctx, node)) continue;
      const sum = skipSum(new Emitter(node), node, 3);
      replaceNode(node, [rms(ctx, node, sum, node.input(2), node.getFloat('epsilon', 1e-12)), null, null, sum]);
      ctx.count('skipRmsNorms');
    }
    for (const node of [...ctx.nodes('SimplifiedLayerNormalization', ['', 'com.microsoft'])]) {
      if (!ctx.rejectsOp(node)) continue;
      if (!lastAxis(node) || isUsed(node, 1)) { ctx.explain(node, 'not over the last axis, or inverse deviation read'); continue; }
      replaceNode(node, [rms(ctx, node, node.input(0), node.input(1), node.getFloat('epsilon', 1e-5))]);
      ctx.count('rmsNorms');
    }
    if (ctx.profile.forms.rmsNorm !== 'primitive') return;
    for (const node of ctx.nodes('RMSNormalization')) {
      if (!lastAxis(node)) { ctx.explain(node, 'not over the last axis'); continue; }
      replaceNode(node, [rms(ctx, node, node.input(0), node.input(1), node.getFloat('epsilon', 1e-5))]);
      ctx.count('rmsNorms');
    }
  },
};
