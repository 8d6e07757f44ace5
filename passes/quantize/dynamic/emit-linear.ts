/**
 * Rewrites of one linear layer whose weight was quantized to 8 bits ([K, N] codes, Gemm's alpha in the scales):
 *   qoperator:  Y = DynamicQuantizeMatMul(X, Wq, scale[, zp][, bias])                         (com.microsoft)
 *   qdq:        Y = MatMul(DQ(DynamicQuantizeLinear(X)), DQ(Wq, scale[, zp], axis=1))         (Gemm keeps C)
 * A Gemm bias that is not a constant [N] vector is added after the DynamicQuantizeMatMul.
 */
import type { LinearLayer } from '../linear-layers.js';
import { replaceLayer } from '../emit-weight-only.js';
import type { Model } from '../../../src/ir/model.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import type { Int8Matrix } from '../../../src/math/int8.js';

/** Initializers of one quantized weight, shared by every layer that reads the same float weight. */
export interface Int8Constants {
  readonly codes: Value;
  readonly scale: Value;
  /** Absent for the symmetric schemes (zero point 0 is the default). */
  readonly zeroPoint: Value | undefined;
  /** Per-column scales (DequantizeLinear needs an axis). */
  readonly perColumn: boolean;
}

/** Adds the [K, N] codes, scales and zero points as initializers named after the float weight. */
export function addInt8Constants(model: Model, base: string, q: Int8Matrix): Int8Constants {
  const g = model.graph;
  const signed = q.codes instanceof Int8Array;
  const dtype = signed ? DType.INT8 : DType.UINT8;
  const groupDims = q.granularity === 'tensor' ? [] : [q.scales.length];
  const codes = g.addConstant(`${base}_quantized`, Tensor.fromTyped(`${base}_quantized`, dtype, [q.rows, q.cols], q.codes));
  const scale = g.addConstant(`${base}_scale`, Tensor.fromTyped(`${base}_scale`, DType.FLOAT, groupDims, q.scales));
  const zeroPoint = signed ? undefined : g.addConstant(`${base}_zero_point`, Tensor.fromTyped(`${base}_zero_point`, dtype, groupDims, q.zeroPoints));
  return { codes, scale, zeroPoint, perColumn: q.granularity !== 'tensor' };
}

export function emitDynamicQuantizeMatMul(model: Model, layer: LinearLayer, w: Int8Constants): void {
  const g = model.graph;
  const foldedBias = constantBias(model, layer);
  const node = g.addNode({
    opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', name: model.freshNodeName(`${layer.node.name || layer.weight.name}_dynamic`),
    inputs: [layer.node.input(0), w.codes, w.scale, w.zeroPoint ?? null, foldedBias ?? null], before: layer.node,
  });
  model.requireOpset('com.microsoft', 1);
  let out = node.output(0);
  if (layer.bias && !foldedBias) out = addBiasAfter(model, layer, layer.bias, out);
  replaceLayer(model, layer, out);
}

/**
 * The QDQ form keeps the layer's node and feeds it dequantized operands; a Gemm keeps its C and beta
 * (alpha is in the weight scales, and the [K, N] codes make transB 0).
 */
export function emitQdqLinear(model: Model, layer: LinearLayer, w: Int8Constants, activation: Value): void {
  const g = model.graph;
  const dqInputs = [w.codes, w.scale, ...(w.zeroPoint ? [w.zeroPoint] : [])];
  const dq = g.addNode({
    opType: 'DequantizeLinear', name: model.freshNodeName(`${layer.weight.name}_DequantizeLinear`), inputs: dqInputs, before: layer.node,
    attributes: w.perColumn ? { axis: { type: 'int', value: 1 } } : {},
  });
  const weight = layer.weight;
  layer.node.setInput(0, activation);
  layer.node.setInput(1, dq.output(0));
  if (layer.kind === 'gemm') {
    layer.node.setAttribute('transB', { type: 'int', value: 0 });
    layer.node.setAttribute('alpha', { type: 'float', value: 1 });
  }
  if (weight.isUnused) g.removeInitializer(weight);
}

/** x -> DynamicQuantizeLinear -> DequantizeLinear: the activation as the int8 kernel would see it. */
export function emitDynamicQdq(model: Model, x: Value, before: LinearLayer['node']): Value {
  const g = model.graph;
  const base = x.name;
  const q = g.addNode({
    opType: 'DynamicQuantizeLinear', name: model.freshNodeName(`${base}_DynamicQuantizeLinear`), inputs: [x], before,
    outputs: [model.freshName(`${base}_quantized`), model.freshName(`${base}_scale`), model.freshName(`${base}_zero_point`)],
  });
  const dq = g.addNode({
    opType: 'DequantizeLinear', name: model.freshNodeName(`${base}_DequantizeLinear`), before,
    inputs: [q.output(0), q.output(1), q.output(2)], outputs: [model.freshName(`${base}_dequantized`)],
  });
  return dq.output(0);
}

/** Gemm's C as a kernel's bias input: a constant float with N or 1 values, times beta. */
export function constantBias(model: Model, layer: LinearLayer): Value | undefined {
  const t = layer.bias?.initializer;
  if (!layer.bias || !t || t.dtype !== DType.FLOAT || (t.elementCount !== layer.n && t.elementCount !== 1)) return undefined;
  if (layer.beta === 1 && t.dims.length === 1 && t.elementCount === layer.n) return layer.bias;
  const data = t.toFloat32();
  const full = Float32Array.from({ length: layer.n }, (_, i) => data[data.length === 1 ? 0 : i]! * layer.beta);
  const name = `${layer.bias.name}_bias`;
  return model.graph.addConstant(name, Tensor.fromTyped(name, DType.FLOAT, [layer.n], full));
}

/** y + beta * C (beta is already in a bias from `constantBias`). */
export function addBiasAfter(model: Model, layer: LinearLayer, bias: Value, y: Value, scaled = false): Value {
  const g = model.graph;
  let c = bias;
  if (layer.beta !== 1 && !scaled) {
    const name = model.freshName(`${layer.node.name || bias.name}_beta`);
    const beta = g.addConstant(name, Tensor.fromTyped(name, DType.FLOAT, [], Float32Array.of(layer.beta)));
    c = g.addNode({ opType: 'Mul', name: model.freshNodeName(`${layer.node.name}_beta`), inputs: [bias, beta], before: layer.node }).output(0);
  }
  return g.addNode({ opType: 'Add', name: model.freshNodeName(`${layer.node.name}_bias`), inputs: [y, c], before: layer.node }).output(0);
}
