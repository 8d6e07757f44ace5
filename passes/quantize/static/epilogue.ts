/**
 * The tail shared by rewritten layers: the product, times a per-column factor (scales, Gemm's alpha), plus
 * Gemm's beta·C, replaces the layer. The last value takes the layer's output name (its readers, a graph
 * output, the per-layer error table all find it), and the old float weight and bias go when unread.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import type { LinearLayer } from '../linear-layers.js';

/** `factor`: one value per output column or one; undefined or all ones adds no Mul. */
export function replaceLayer(model: Model, layer: LinearLayer, product: Value, factor: Float32Array | undefined): void {
  const g = model.graph;
  const node = layer.node;
  const name = node.name || node.output(0).name;
  let out = product;
  if (factor && factor.some((f) => f !== 1)) {
    const dims = factor.length === 1 ? [] : [factor.length];
    const value = g.addConstant(`${name}_rescale`, Tensor.fromTyped(`${name}_rescale`, DType.FLOAT, dims, factor));
    out = g.addNode({ opType: 'Mul', name: model.freshNodeName(`${name}_rescale`), inputs: [out, value], before: node }).output(0);
  }
  if (layer.bias) {
    const bias = scaledBias(model, layer.bias, layer.beta, name, layer);
    out = g.addNode({ opType: 'Add', name: model.freshNodeName(`${name}_bias`), inputs: [out, bias], before: node }).output(0);
  }
  const y = node.output(0);
  const keep = y.name;
  y.replaceAllUsesWith(out);
  g.removeNode(node);
  if (out.name !== keep) out.rename(keep);
  dropIfUnused(model, layer.weight);
  if (layer.bias) dropIfUnused(model, layer.bias);
}

function scaledBias(model: Model, bias: Value, beta: number, name: string, layer: LinearLayer): Value {
  if (beta === 1) return bias;
  const g = model.graph;
  if (bias.initializer?.dtype === DType.FLOAT) {
    const data = Float32Array.from(bias.initializer.toFloat32(), (v) => v * beta);
    return g.addConstant(`${name}_bias`, Tensor.fromTyped(`${name}_bias`, DType.FLOAT, bias.initializer.dims, data));
  }
  const b = g.addConstant(`${name}_beta`, Tensor.fromTyped(`${name}_beta`, DType.FLOAT, [], Float32Array.of(beta)));
  return g.addNode({ opType: 'Mul', name: model.freshNodeName(`${name}_beta`), inputs: [bias, b], before: layer.node }).output(0);
}

/** Removes an initializer nobody reads any more. */
export function dropIfUnused(model: Model, value: Value): void {
  if (value.initializer && value.isUnused && !value.isGraphInput) model.graph.removeInitializer(value);
}
