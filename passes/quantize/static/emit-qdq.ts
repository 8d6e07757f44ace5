/**
 * QDQ form: quantization written as QuantizeLinear/DequantizeLinear pairs around float operators, which
 * onnxruntime fuses into integer kernels and TensorRT reads as explicit precision.
 *
 *   x ──▶ QuantizeLinear(s, zp) ──▶ DequantizeLinear(s, zp) ──▶ MatMul/Gemm ◀── DequantizeLinear(Wq, sw, zw[, axis])
 *                                                                       ▲── DequantizeLinear(Cq int32, sx·sw)   (Gemm bias, cpu)
 *
 * One activation pair per quantized value, shared by the layers that read it (q/k/v read one norm output);
 * readers that are not quantized keep the float value.
 */
import type { Model } from '../../../src/ir/model.js';
import type { AttributeValue, Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import type { LinearLayer } from '../linear-layers.js';
import type { ActivationParams } from './activation-params.js';
import type { QuantizedWeight } from './weight-quant.js';
import { dropIfUnused } from './epilogue.js';

/** Q→DQ on `input` for the given reader nodes; returns the dequantized value they now read. */
export function insertActivationQdq(model: Model, input: Value, params: ActivationParams, readers: readonly Node[]): Value {
  const g = model.graph;
  const before = earliest(readers);
  const [scale, zeroPoint] = activationConstants(model, input.name, params);
  const q = g.addNode({ opType: 'QuantizeLinear', name: model.freshNodeName(`${input.name}_quantize`), inputs: [input, scale, zeroPoint], before });
  const dq = g.addNode({ opType: 'DequantizeLinear', name: model.freshNodeName(`${input.name}_dequantize`), inputs: [q.output(0), scale, zeroPoint], before });
  rewire(input, dq.output(0), readers);
  return dq.output(0);
}

/** The quantize half alone (QOperator form): returns the integer value. */
export function insertActivationQuantize(model: Model, input: Value, params: ActivationParams, readers: readonly Node[]): { codes: Value; scale: Value; zeroPoint: Value } {
  const [scale, zeroPoint] = activationConstants(model, input.name, params);
  const q = model.graph.addNode({ opType: 'QuantizeLinear', name: model.freshNodeName(`${input.name}_quantize`), inputs: [input, scale, zeroPoint], before: earliest(readers) });
  return { codes: q.output(0), scale, zeroPoint };
}

/**
 * Replaces the layer's float weight by DequantizeLinear of its codes (the float stays for other readers).
 * A Gemm's positive alpha goes into the weight scales (alpha = 1 is what onnxruntime fuses into QGemm).
 * Returns the weight as written.
 */
export function dequantizeWeight(model: Model, layer: LinearLayer, qw: QuantizedWeight): QuantizedWeight {
  const g = model.graph;
  const w = layer.weight;
  const foldAlpha = layer.kind === 'gemm' && layer.alpha !== 1 && layer.alpha > 0;
  const written = foldAlpha ? { ...qw, scales: Float32Array.from(qw.scales, (s) => s * layer.alpha) } : qw;
  if (foldAlpha) layer.node.setAttribute('alpha', { type: 'float', value: 1 });
  const codes = g.addConstant(`${w.name}_quantized`, Tensor.fromTyped(`${w.name}_quantized`, qw.dtype, w.initializer!.dims, qw.codes));
  const [scale, zeroPoint] = weightConstants(model, w.name, written);
  const attributes: Record<string, AttributeValue> = qw.axis === undefined ? {} : { axis: { type: 'int', value: qw.axis } };
  const dq = g.addNode({ opType: 'DequantizeLinear', name: model.freshNodeName(`${w.name}_dequantize`), inputs: [codes, scale, zeroPoint], attributes, before: layer.node });
  layer.node.setInput(1, dq.output(0));
  dropIfUnused(model, w);
  return written;
}

/**
 * Gemm's constant bias C[N] as int32 codes of beta·C at scale sx·sw (zero point 0): with it onnxruntime
 * fuses DQ→Gemm into QGemm; with a float bias the Gemm stays float. Skipped when a code would overflow.
 */
export function quantizeBias(model: Model, layer: LinearLayer, activationScale: number, qw: QuantizedWeight): boolean {
  const bias = layer.bias;
  const t = bias?.initializer;
  if (!bias || !t || bias.isGraphInput || t.dtype !== DType.FLOAT || t.dims.length !== 1 || t.dims[0] !== layer.n) return false;
  const scales = Float32Array.from(qw.scales, (s) => activationScale * s);
  const values = t.toFloat32();
  const exact = Float64Array.from(values, (v, j) => Math.round((layer.beta * v) / scales[qw.axis === undefined ? 0 : j]!));
  if (exact.some((c) => !(Math.abs(c) <= 2 ** 31 - 1))) return false;
  const codes = Int32Array.from(exact);
  const g = model.graph;
  const codeValue = g.addConstant(`${bias.name}_quantized`, Tensor.fromTyped(`${bias.name}_quantized`, DType.INT32, [layer.n], codes));
  const scale = g.addConstant(`${bias.name}_scale`, Tensor.fromTyped(`${bias.name}_scale`, DType.FLOAT, qw.axis === undefined ? [] : [layer.n], scales));
  const attributes: Record<string, AttributeValue> = qw.axis === undefined ? {} : { axis: { type: 'int', value: 0 } };
  const dq = g.addNode({ opType: 'DequantizeLinear', name: model.freshNodeName(`${bias.name}_dequantize`), inputs: [codeValue, scale], attributes, before: layer.node });
  layer.node.setInput(2, dq.output(0));
  if (layer.beta !== 1) layer.node.setAttribute('beta', { type: 'float', value: 1 });
  dropIfUnused(model, bias);
  return true;
}

export function activationConstants(model: Model, hint: string, p: ActivationParams): [Value, Value] {
  const g = model.graph;
  const scale = g.addConstant(`${hint}_scale`, Tensor.fromTyped(`${hint}_scale`, DType.FLOAT, [], Float32Array.of(p.scale)));
  const zp = p.dtype === DType.UINT8 ? Uint8Array.of(p.zeroPoint) : Int8Array.of(p.zeroPoint);
  const zeroPoint = g.addConstant(`${hint}_zero_point`, Tensor.fromTyped(`${hint}_zero_point`, p.dtype, [], zp));
  return [scale, zeroPoint];
}

export function weightConstants(model: Model, hint: string, qw: QuantizedWeight): [Value, Value] {
  const g = model.graph;
  const dims = qw.axis === undefined ? [] : [qw.scales.length];
  const scale = g.addConstant(`${hint}_scale`, Tensor.fromTyped(`${hint}_scale`, DType.FLOAT, dims, qw.scales));
  const zeroPoint = g.addConstant(`${hint}_zero_point`, Tensor.fromTyped(`${hint}_zero_point`, qw.dtype, dims, qw.zeroPoints));
  return [scale, zeroPoint];
}

/** The reader that comes first in graph order: new nodes go right before it. */
export function earliest(readers: readonly Node[]): Node {
  const nodes = readers[0]!.graph.nodes;
  return readers.reduce((a, b) => (nodes.indexOf(b) < nodes.indexOf(a) ? b : a));
}

function rewire(from: Value, to: Value, readers: readonly Node[]): void {
  const set = new Set(readers);
  for (const use of [...from.uses]) if (set.has(use.node) && use.index === 0) use.node.setInput(use.index, to);
}
