/**
 * Raises the ai.onnx opset import, rewriting the operators whose signature changed on the way:
 *   opset 13: Squeeze/Unsqueeze/ReduceSum axes, Split split   attribute -> int64 input
 *   opset 18: ReduceMean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare axes   attribute -> int64 input
 *   opset 13: Softmax/LogSoftmax/Hardmax work on one axis instead of the flattened tail from `axis` on
 *             (default axis 1 -> -1); kept exact by an explicit last axis or Flatten -> op -> Reshape
 *   opset 18: Split without sizes must name its output count                  -> num_outputs attribute
 * Every other change between opset 11 and 23 only widens types or adds optional attributes. The IR
 * version is raised to the lowest one the new opset needs (onnx's version table: 21 -> 10, 23 -> 11).
 */
import { z } from 'zod';
import { definePass } from '../../src/pipeline/pass.js';
import type { Model } from '../../src/ir/model.js';
import type { Graph } from '../../src/ir/graph.js';
import type { Node } from '../../src/ir/node.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import { PreconditionError } from '../../src/errors.js';
import { irVersionFor } from '../../src/targets/rules/model.js';

/** Oldest opset this converter starts from, newest it reaches. */
export const UPGRADE_RANGE = { from: 11, to: 23 } as const;

/** [first opset where the attribute is an input, op types, attribute name, input index]. */
const ATTRIBUTE_TO_INPUT: readonly [number, readonly string[], string, number][] = [
  [13, ['Squeeze', 'Unsqueeze', 'ReduceSum'], 'axes', 1],
  [13, ['Split'], 'split', 1],
  [18, ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'], 'axes', 1],
];

/** Before opset 13 these normalise over the tail flattened from `axis`; from 13 over `axis` alone. */
const COERCED_TO_2D = new Set(['Softmax', 'LogSoftmax', 'Hardmax']);

/** Operators removed or changed incompatibly inside the range; a model using them is not upgraded. */
const UNSUPPORTED = new Set(['Upsample', 'Scatter', 'Crop', 'ImageScaler']);

/**
 * Upgrades the model's default-domain opset to at least `version` and its IR version to what that opset
 * needs; returns the number of nodes rewritten.
 */
export function upgradeOpset(model: Model, version: number): number {
  const current = model.opsetVersion('') ?? 1;
  if (current >= version) { raiseIrVersion(model); return 0; }
  if (current < UPGRADE_RANGE.from || version > UPGRADE_RANGE.to) {
    throw new PreconditionError(`cannot upgrade opset ${current} to ${version}: supported from ${UPGRADE_RANGE.from} up to ${UPGRADE_RANGE.to}`);
  }
  let rewritten = 0;
  for (const graph of [...model.graph.graphsDeep()]) {
    for (const node of [...graph.nodes]) {
      if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
      if (UNSUPPORTED.has(node.opType)) throw new PreconditionError(`cannot upgrade opset: ${node.describe()} has no direct successor`);
      for (const [since, ops, attr, index] of ATTRIBUTE_TO_INPUT) {
        if (current < since && version >= since && ops.includes(node.opType) && moveAttributeToInput(graph, node, attr, index)) rewritten++;
      }
      if (current < 13 && version >= 13 && COERCED_TO_2D.has(node.opType)) {
        keepFlattenedSemantics(graph, node);
        rewritten++;
      }
      if (current < 18 && version >= 18 && nameSplitOutputs(node)) rewritten++;
    }
  }
  model.opsetImports = model.opsetImports.map((o) => ((o.domain === '' || o.domain === 'ai.onnx') ? { ...o, version } : o));
  raiseIrVersion(model);
  return rewritten;
}

/** IR version at least what the ai.onnx opset needs; true when it moved. */
export function raiseIrVersion(model: Model): boolean {
  const needed = irVersionFor(model.opsetVersion('') ?? 1);
  if (needed === undefined || model.irVersion >= needed) return false;
  model.irVersion = needed;
  return true;
}

/** From opset 18 a Split without a sizes input names its output count. */
function nameSplitOutputs(node: Node): boolean {
  if (node.opType !== 'Split' || node.inputs[1] || node.getInt('num_outputs') !== undefined) return false;
  node.setAttribute('num_outputs', { type: 'int', value: node.outputs.length });
  return true;
}

/**
 * An old-style Softmax over the tail from `axis`: when that tail is the last axis alone (rank known), the
 * axis is written out; otherwise the input is flattened to 2-D around `axis`, normalised on axis 1 and
 * reshaped back, which is what the old definition computes.
 */
function keepFlattenedSemantics(graph: Graph, node: Node): void {
  const input = node.input(0);
  const rank = input.type?.shape?.length;
  const axis = node.getInt('axis', 1);
  const normalized = rank !== undefined && axis < 0 ? axis + rank : axis;
  if (rank !== undefined && normalized === rank - 1) {
    node.setAttribute('axis', { type: 'int', value: -1 });
    return;
  }
  const shape = graph.addNode({ opType: 'Shape', inputs: [input], before: node }).output(0);
  const flat = graph.addNode({ opType: 'Flatten', inputs: [input], attributes: { axis: { type: 'int', value: axis } }, before: node }).output(0);
  node.setInput(0, flat);
  node.setAttribute('axis', { type: 'int', value: 1 });
  const result = node.output(0);
  const at = graph.nodes.indexOf(node);
  const reshape = graph.addNode({ opType: 'Reshape', inputs: [result, shape], before: graph.nodes[at + 1] });
  const restored = reshape.output(0);
  // Readers of the old result (not the Reshape itself) move to the restored shape.
  for (const use of [...result.uses]) if (use.node !== reshape) use.node.setInput(use.index, restored);
  if (result.isGraphOutput) {
    const outputs = graph.outputs;
    const keep = result.name;
    for (let i = 0; i < outputs.length; i++) if (outputs[i] === result) outputs[i] = restored;
    const declared = graph.declarations.output.get(result);
    if (declared !== undefined) graph.declarations.output.set(restored, declared);
    restored.type = result.type;
    result.rename(graph.model.freshName(`${keep}_2d`));
    restored.rename(keep);
  }
  result.type = undefined;
}

function moveAttributeToInput(graph: Graph, node: Node, attr: string, index: number): boolean {
  const values = node.getInts(attr);
  if (!values) return false;
  node.removeAttribute(attr);
  const name = `${node.name || node.opType}_${attr}`;
  const constant = graph.addConstant(name, Tensor.fromTyped(name, DType.INT64, [values.length], BigInt64Array.from(values, BigInt)));
  while (node.inputs.length < index) node.appendInput(null);
  node.setInput(index, constant);
  return true;
}

export default definePass({
  name: 'upgrade-opset',
  description: 'raise the ai.onnx opset, rewriting operators whose signature changed',
  options: z.object({
    version: z.number().int().min(UPGRADE_RANGE.from).max(UPGRADE_RANGE.to).default(21).describe('ai.onnx opset to reach'),
  }).strict(),
  run(model, options) {
    const before = model.opsetVersion('') ?? 1;
    const irBefore = model.irVersion;
    const rewritten = upgradeOpset(model, options.version);
    return {
      modified: before < options.version || model.irVersion !== irBefore,
      stats: { from: before, to: Math.max(before, options.version), nodesRewritten: rewritten, irVersion: model.irVersion },
    };
  },
});
