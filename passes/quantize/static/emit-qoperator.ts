/**
 * QOperator form: integer operators instead of QDQ pairs.
 *
 *   MatMul(x, W) / Gemm(x, W, C)  ->  Mul(Cast(MatMulInteger(xq, Wq, zx, zw)), sx·sw·alpha) [+ beta·C]
 *   where xq = QuantizeLinear(x, sx, zx), shared by the layers that read x
 *
 * Gemm's transposed weight is stored transposed back to [K, N]; the float output keeps the layer's name.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import type { LinearLayer } from '../linear-layers.js';
import type { ActivationParams } from './activation-params.js';
import { asKn, type QuantizedWeight } from './weight-quant.js';
import { weightConstants } from './emit-qdq.js';
import { replaceLayer } from './epilogue.js';

export interface QuantizedInput {
  readonly codes: Value;
  readonly zeroPoint: Value;
  readonly params: ActivationParams;
}

export function emitMatMulInteger(model: Model, layer: LinearLayer, x: QuantizedInput, qw: QuantizedWeight): void {
  const g = model.graph;
  const node = layer.node;
  const name = node.name || node.output(0).name;
  const kn = asKn(qw, layer);
  const wq = g.addConstant(`${layer.weight.name}_quantized`, Tensor.fromTyped(`${layer.weight.name}_quantized`, kn.dtype, [layer.k, layer.n], kn.codes));
  const [, wZero] = weightConstants(model, layer.weight.name, kn);
  const acc = g.addNode({ opType: 'MatMulInteger', name: model.freshNodeName(`${name}_integer`), inputs: [x.codes, wq, x.zeroPoint, wZero], before: node }).output(0);
  const float = g.addNode({ opType: 'Cast', name: model.freshNodeName(`${name}_to_float`), inputs: [acc], attributes: { to: { type: 'int', value: DType.FLOAT } }, before: node }).output(0);
  // One rescale per output column: activation scale × weight scale (× Gemm's alpha).
  replaceLayer(model, layer, float, Float32Array.from(kn.scales, (s) => x.params.scale * s * layer.alpha));
}
