/** Opset moves for rewrites: raise ai.onnx to what an emitted op needs, and the IR version with it. */
import type { Model } from '../../../src/ir/model.js';
import { upgradeOpset } from '../upgrade-opset.js';
import { irVersionFor } from '../../../src/targets/rules/model.js';

/** Raises the model to at least `version` (upgrade-opset rewrites old signatures); returns true if it moved. */
export function requireOpset(model: Model, version: number): boolean {
  const before = model.opsetVersion('') ?? 1;
  if (before >= version) return false;
  upgradeOpset(model, version);
  if (before < 18 && version >= 18) nameSplitOutputs(model);
  raiseIrVersion(model);
  return true;
}

/** From opset 18 an even Split names its output count (num_outputs) when no sizes are given. */
function nameSplitOutputs(model: Model): void {
  for (const graph of model.graph.graphsDeep()) {
    for (const node of graph.nodes) {
      if (node.opType !== 'Split' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
      if (!node.inputs[1] && node.getInt('num_outputs') === undefined) node.setAttribute('num_outputs', { type: 'int', value: node.outputs.length });
    }
  }
}

/** IR version at least what the ai.onnx opset needs. */
export function raiseIrVersion(model: Model): boolean {
  const needed = irVersionFor(model.opsetVersion('') ?? 1);
  if (needed === undefined || model.irVersion >= needed) return false;
  model.irVersion = needed;
  return true;
}
