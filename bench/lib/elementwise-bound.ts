/**
 * A timing bound for graph rewrites: a copy of a model in which every normalisation, activation and
 * elementwise Add/Mul on the hidden-state path is skipped (its output replaced by the input that carries the
 * hidden state). What is left is the matrix products, the attention kernels, the embedding lookups and the
 * shape arithmetic. Its outputs are meaningless; its latency is what the model would cost if all the
 * elementwise work were free, so "original / bound" caps the speed-up of any exact rewrite that keeps those
 * kernels.
 */
import { cloneModel } from '../../src/ir/clone.js';
import type { Model } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { resolveSteps } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { isFloat } from '../../src/ir/dtype.js';
import { elementTypes } from '../../src/targets/element-types.js';

/** Operators skipped in the bound: each has the hidden state as one input and the same shape as output. */
const SKIPPED = new Set([
  'Add', 'Mul', 'Sigmoid', 'Erf', 'Tanh', 'Gelu', 'FastGelu', 'BiasGelu', 'QuickGelu',
  'LayerNormalization', 'SimplifiedLayerNormalization', 'RMSNormalization', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization',
]);

/**
 * Nodes whose float output is a hidden state (or the next thing computed from one): Gather for the
 * embeddings, Reshape and Transpose for exports that run the projections as 2-D Gemm. Shape arithmetic
 * (int64 Gather, Add, Mul) is never passed through: only float values are.
 */
const HIDDEN_STATE_PRODUCERS = new Set([
  ...SKIPPED, 'MatMul', 'Gemm', 'Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'Gather', 'Reshape', 'Transpose',
]);

/**
 * The input that carries the hidden state through `node`: one from a hidden-state producer whose skipping
 * leaves no other computed input unread (the bound must keep every matrix product), or undefined.
 */
function hiddenInput(node: Node, types: Map<Value, number>): Value | undefined {
  const computed = node.inputs.filter((v): v is Value => !!v && !v.isConstant);
  const readElsewhere = (v: Value) => v.consumers().some((c) => c !== node) || v.isGraphOutput;
  return computed.find((through) => !!through.producer && HIDDEN_STATE_PRODUCERS.has(through.producer.opType)
    && isFloat(types.get(through) ?? -1) && computed.every((other) => other === through || readElsewhere(other)));
}

/** Skipped nodes whose extra outputs (a norm's mean, a skip norm's sum) are read cannot be bypassed. */
function onlyFirstOutputRead(node: Node): boolean {
  return node.outputs.slice(1).every((o) => !o || o.isUnused);
}

export async function elementwiseBound(model: Model): Promise<{ model: Model; skipped: number }> {
  const bound = cloneModel(model);
  const graph = bound.graph;
  const types = elementTypes(graph);
  let skipped = 0;
  for (const node of [...graph.nodes]) {
    if (!SKIPPED.has(node.opType) || !onlyFirstOutputRead(node)) continue;
    const out = node.outputs[0];
    const through = hiddenInput(node, types);
    if (!out || !through || out.isGraphOutput) continue;
    out.replaceAllUsesWith(through);
    graph.removeNode(node);
    skipped++;
  }
  await runSteps(bound, resolveSteps(['remove-dead-nodes', 'remove-unused-initializers']), quietContext());
  return { model: bound, skipped };
}
