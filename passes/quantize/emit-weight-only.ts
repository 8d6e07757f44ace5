/**
 * Rewrites of a linear layer whose weight was quantized blockwise:
 *   MatMulNBits form:  Y = MatMulNBits(X, B, scales[, zero_points][, bias])      (com.microsoft; cpu, cuda)
 *   QDQ form:          Y = MatMul(X, DequantizeLinear(Wq, scale[, zp], axis, block_size)) (+ bias)  (opset 21)
 * Gemm's alpha is folded into the scales and beta into the bias.
 */
import type { LinearLayer } from './linear-layers.js';
import type { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import type { BlockwiseWeight } from '../../src/math/blockwise.js';
import { packInt4, packMatMulNBits } from '../../src/math/pack.js';
import { upgradeOpset } from '../legalize/upgrade-opset.js';

export function emitMatMulNBits(model: Model, layer: LinearLayer, q: BlockwiseWeight, accuracyLevel: number): void {
  const g = model.graph;
  const base = layer.weight.name;
  const packed = packMatMulNBits(q);
  const scales = layer.alpha === 1 ? packed.scales : packed.scales.map((s) => s * layer.alpha);
  const inputs: (Value | null)[] = [
    layer.node.input(0),
    g.addConstant(`${base}_Q${q.bits}`, Tensor.fromTyped(`${base}_Q${q.bits}`, DType.UINT8, [q.n, q.blocks, (q.blockSize * q.bits) / 8], packed.b)),
    g.addConstant(`${base}_scales`, Tensor.fromTyped(`${base}_scales`, DType.FLOAT, [q.n * q.blocks], scales)),
  ];
  if (packed.zeroPoints) {
    inputs.push(g.addConstant(`${base}_zp`, Tensor.fromTyped(`${base}_zp`, DType.UINT8, [packed.zeroPoints.length], packed.zeroPoints)));
  }
  const bias = scaledBias(model, layer);
  if (bias) {
    while (inputs.length < 5) inputs.push(null);
    inputs.push(bias);
  }
  const node = g.addNode({
    opType: 'MatMulNBits', domain: 'com.microsoft', name: `${layer.node.name || base}_Q${q.bits}`, inputs, before: layer.node,
    attributes: {
      K: { type: 'int', value: q.k }, N: { type: 'int', value: q.n }, bits: { type: 'int', value: q.bits },
      block_size: { type: 'int', value: q.blockSize }, accuracy_level: { type: 'int', value: accuracyLevel },
    },
  });
  model.requireOpset('com.microsoft', 1);
  replaceLayer(model, layer, node.output(0));
}

export function emitDequantizeMatMul(model: Model, layer: LinearLayer, q: BlockwiseWeight): void {
  const g = model.graph;
  const base = layer.weight.name;
  // Stored as [K, N] for MatMul (blocks along axis 0) or [N, K] for transB Gemm (blocks along axis 1).
  const [rows, cols, axis] = layer.transposed ? [q.n, q.k, 1] : [q.k, q.n, 0];
  const signed = q.symmetric;
  const values = new Int8Array(rows * cols);
  const padded = q.blocks * q.blockSize;
  const scales = new Float32Array(q.n * q.blocks);
  const zps = new Int8Array(q.n * q.blocks);
  for (let col = 0; col < q.n; col++) {
    for (let i = 0; i < q.k; i++) {
      const code = q.codes[col * padded + i]!;
      const at = layer.transposed ? col * q.k + i : i * q.n + col;
      values[at] = signed ? code - (1 << (q.bits - 1)) : code;
    }
    for (let b = 0; b < q.blocks; b++) {
      const at = layer.transposed ? col * q.blocks + b : b * q.n + col;
      scales[at] = q.scales[col * q.blocks + b]! * layer.alpha;
      zps[at] = q.zeroPoints[col * q.blocks + b]!;
    }
  }
  const scaleDims = layer.transposed ? [q.n, q.blocks] : [q.blocks, q.n];
  const dtype = q.bits === 4 ? (signed ? DType.INT4 : DType.UINT4) : signed ? DType.INT8 : DType.UINT8;
  const bytes = q.bits === 4 ? packInt4(values) : new Uint8Array(values.buffer);
  const w = g.addConstant(`${base}_q`, Tensor.fromBytes(`${base}_q`, dtype, [rows, cols], bytes));
  const s = g.addConstant(`${base}_scale`, Tensor.fromTyped(`${base}_scale`, DType.FLOAT, scaleDims, scales));
  const dqInputs: Value[] = [w, s];
  if (!signed) {
    const zpBytes = q.bits === 4 ? packInt4(zps) : new Uint8Array(zps.buffer);
    dqInputs.push(g.addConstant(`${base}_zero_point`, Tensor.fromBytes(`${base}_zero_point`, dtype, scaleDims, zpBytes)));
  }
  const dq = g.addNode({
    opType: 'DequantizeLinear', inputs: dqInputs, before: layer.node,
    attributes: { axis: { type: 'int', value: axis }, block_size: { type: 'int', value: q.blockSize } },
  });
  upgradeOpset(model, 21);
  // The layer keeps its op; only its weight now comes from the DequantizeLinear (alpha is in the scales).
  layer.node.setInput(1, dq.output(0));
  if (layer.kind === 'gemm' && layer.alpha !== 1) layer.node.setAttribute('alpha', { type: 'float', value: 1 });
  if (layer.weight.isUnused) model.graph.removeInitializer(layer.weight);
}

function scaledBias(model: Model, layer: LinearLayer): Value | undefined {
  const bias = layer.bias;
  if (!bias) return undefined;
  const t = bias.initializer;
  if (layer.beta === 1 && t && t.dims.length === 1) return bias;
  if (!t || t.dtype !== DType.FLOAT) return undefined;
  const data = Float32Array.from(t.toFloat32(), (v) => v * layer.beta);
  const full = data.length === layer.n ? data : Float32Array.from({ length: layer.n }, (_, i) => data[i % data.length]!);
  return model.graph.addConstant(`${bias.name}_scaled`, Tensor.fromTyped(`${bias.name}_scaled`, DType.FLOAT, [layer.n], full));
}

/**
 * Points the layer's readers at the new output and removes the old node and its now unused weight. The new
 * output takes the old name, so value names stay stable across quantization (reports map layers by name).
 */
export function replaceLayer(model: Model, layer: LinearLayer, output: Value): void {
  const old = layer.node.output(0);
  const name = old.name;
  old.replaceAllUsesWith(output);
  model.graph.removeNode(layer.node);
  if (output.name !== name && !model.graph.lookup(name)) output.rename(name);
  for (const v of [layer.weight, layer.bias]) if (v?.initializer && v.isUnused) model.graph.removeInitializer(v);
}

/** True when MatMulNBits can take the layer's bias directly (a constant vector, or absent). */
export function nbitsCanTakeBias(layer: LinearLayer): boolean {
  const t = layer.bias?.initializer;
  return !layer.bias || (t !== undefined && t.dtype === DType.FLOAT && (t.dims.length === 1 || t.elementCount === layer.n || t.elementCount === 1));
}
