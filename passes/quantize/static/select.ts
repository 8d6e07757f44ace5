/**
 * What static quantization touches: the inputs and weights of linear layers (MatMul/Gemm with a constant
 * weight), nothing else. Softmax, norms, residual adds and attention's activation × activation products
 * stay float; so does the output head unless asked, and whatever `exclude` names. Layers that read the
 * same activation form one group: the activation gets one scale, shared by all of them.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { findLinearLayers, type LinearLayer } from '../linear-layers.js';
import { isExcluded } from '../quantize-weight-only.js';

export interface ActivationGroup {
  /** The float activation the layers read (their input 0). */
  input: Value;
  readonly layers: LinearLayer[];
}

export interface Selection {
  readonly groups: ActivationGroup[];
  /** MatMul/Gemm nodes left in float, for any reason. */
  readonly skipped: number;
  /** com.microsoft Attention nodes whose packed Q/K/V weight stays float. */
  readonly packedAttention: readonly Node[];
}

export interface SelectOptions {
  readonly exclude: readonly string[];
  readonly quantizeHead: boolean;
}

/** Operators that mean the model is quantized already. */
const QUANTIZED_OPS = new Set([
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QLinearMatMul', 'MatMulInteger', 'QLinearConv', 'ConvInteger',
  'com.microsoft.MatMulNBits', 'com.microsoft.DynamicQuantizeMatMul', 'com.microsoft.MatMulIntegerToFloat', 'com.microsoft.QGemm',
  'com.microsoft.QAttention', 'com.microsoft.MatMulBnb4', 'com.microsoft.GatherBlockQuantized', 'com.microsoft.QuantizeLinear',
  'com.microsoft.DequantizeLinear',
]);

export function quantizedOps(model: Model): string[] {
  const found = new Set<string>();
  for (const n of model.graph.allNodes()) {
    const key = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    if (QUANTIZED_OPS.has(key)) found.add(key);
  }
  return [...found];
}

export function selectLayers(model: Model, options: SelectOptions, explain: (message: string) => void): Selection {
  const { layers, rejected, packedAttention } = findLinearLayers(model);
  for (const r of rejected) explain(`${r.node.describe()}: ${r.reason} (stays float)`);
  const groups = new Map<Value, ActivationGroup>();
  let skipped = rejected.length;
  for (const layer of layers) {
    const why = skipReason(layer, options);
    if (why) { explain(`${layer.node.describe()}: ${why}`); skipped++; continue; }
    const input = layer.node.input(0);
    const group = groups.get(input) ?? { input, layers: [] };
    group.layers.push(layer);
    groups.set(input, group);
  }
  return { groups: [...groups.values()], skipped, packedAttention };
}

function skipReason(layer: LinearLayer, options: SelectOptions): string | undefined {
  if (isExcluded(layer.node, options.exclude)) return 'excluded';
  const input = layer.node.inputs[0];
  if (!input || input.initializer) return 'the input is a constant';
  if (!options.quantizeHead && isHead(layer)) return 'output head (quantizeHead is off)';
  return undefined;
}

/** Ops that carry a value to the graph output without mixing it with anything but a bias. */
const PASS_THROUGH = new Set(['Add', 'Reshape', 'Identity', 'Cast', 'Squeeze', 'Unsqueeze', 'Transpose', 'Flatten']);

/** The layer's output reaches a graph output through pass-through ops only: it computes the logits. */
export function isHead(layer: LinearLayer): boolean {
  let frontier: Value[] = [layer.node.output(0)];
  for (let hop = 0; hop < 4 && frontier.length; hop++) {
    if (frontier.some((v) => v.isGraphOutput)) return true;
    frontier = frontier.flatMap((v) => v.uses.filter((u) => PASS_THROUGH.has(u.node.opType) && u.node.domain === '').flatMap((u) => u.node.outputs.filter((o): o is Value => o !== null)));
  }
  return frontier.some((v) => v.isGraphOutput);
}
