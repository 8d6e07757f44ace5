/**
 * Model-level rules: opset and IR version against the runtime's limits and against each other, ops newer
 * than the model's opset, and compute types the provider has no kernels for.
 */
import type { ModelRule, NodeRule } from './context.js';
import { computeType, floatTypeName } from '../element-types.js';
import { isStandard } from '../qdq.js';
import type { Node } from '../../ir/node.js';

/** Lowest IR version each ai.onnx opset needs (ONNX Versioning.md) [ONNXV]. */
const IR_FOR_OPSET: Readonly<Record<number, number>> = {
  7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11,
};

export function irVersionFor(opset: number): number | undefined {
  return IR_FOR_OPSET[opset];
}

/** Standard ops that only exist from an opset on. */
const OP_SINCE: Readonly<Record<string, number>> = { Attention: 23, RotaryEmbedding: 23, RMSNormalization: 23, Gelu: 20, LayerNormalization: 17 };

const assumed = (source: string) => (source === 'assumption' ? ' (an assumption, see docs/targets.md)' : ` [${source}]`);

export const versionRule: ModelRule = (ctx) => {
  const { model, profile: p } = ctx;
  const opset = model.opsetVersion('') ?? 1;
  if (opset > p.maxOpset.value) {
    ctx.report('opset-high', p.maxOpset.source === 'assumption' ? 'warning' : 'error', null,
      `ai.onnx opset ${opset} is above ${p.maxOpset.value}, the newest ${p.title} takes${assumed(p.maxOpset.source)}`, null);
  }
  if (opset < p.minOpset.value) ctx.report('opset-low', 'error', null, `ai.onnx opset ${opset} is below ${p.minOpset.value}${assumed(p.minOpset.source)}`);
  const irNeeded = irVersionFor(opset);
  if (irNeeded !== undefined && model.irVersion < irNeeded) {
    ctx.report('ir-low', 'error', null, `IR version ${model.irVersion} is below ${irNeeded}, the lowest that ai.onnx opset ${opset} allows [ONNXV]`);
  }
  if (model.irVersion > p.maxIrVersion.value) {
    ctx.report('ir-high', 'error', null, `IR version ${model.irVersion} is above ${p.maxIrVersion.value}, the newest ${p.title} loads [${p.maxIrVersion.source}]`, null);
  }
};

/** The ai.onnx opset a standard node needs at least (undefined: any). */
export function opsetSince(node: Node): number | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  return OP_SINCE[node.opType] ?? (isStandard(node, 'DequantizeLinear') && node.getInt('block_size', 0) > 0 ? 21 : undefined);
}

/** An op (or op form) newer than the model's opset makes the model invalid. */
export const opOpsetRule: NodeRule = (node, ctx) => {
  const opset = ctx.model.opsetVersion('') ?? 1;
  const since = opsetSince(node);
  if (since !== undefined && opset < since) {
    ctx.report('op-opset', 'error', node, `${node.opType}${since === 21 ? ' with block_size' : ''} needs ai.onnx opset ${since}; the model imports ${opset}`);
  }
};

/** Nodes computing in a float type without kernels on the provider, counted once per type. */
export const computeTypeRule: ModelRule = (ctx) => {
  const counts = new Map<string, number>();
  for (const node of ctx.model.graph.allNodes()) {
    if (node.domain === 'com.microsoft' || node.opType === 'Cast' || node.opType === 'Constant') continue;
    const t = computeType(node, ctx.types);
    const name = t === undefined ? undefined : floatTypeName(t);
    if (name && !ctx.profile.computeTypes.includes(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [name, n] of counts) {
    const fix = name === 'bfloat16' && ctx.profile.computeTypes.includes('float16') ? 'convert-float16' : null;
    ctx.report('compute-type', 'error', null, `${n} nodes compute in ${name}, which ${ctx.profile.title} has no kernels for`, fix);
  }
};
