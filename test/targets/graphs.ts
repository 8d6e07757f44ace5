/** Tiny graphs with one planted target problem each, for the check rules and the legalize passes. */
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import type { Value } from '../../src/ir/value.js';
import type { AttributeValue } from '../../src/ir/node.js';
import { mulberry32 } from '../../src/runtime/feeds.js';
import { newModel, randomWeight } from '../helpers/tiny.js';

export const int = (value: number): AttributeValue => ({ type: 'int', value });
export const float = (value: number): AttributeValue => ({ type: 'float', value });

export function msModel(opset = 17): Model {
  const model = newModel(opset);
  model.opsetImports.push({ domain: 'com.microsoft', version: 1 });
  return model;
}

export function constant(model: Model, name: string, dtype: number, dims: number[], values: ArrayLike<number>): Value {
  const typed = dtype === DType.FLOAT ? Float32Array.from(values) : dtype === DType.INT8 ? Int8Array.from(values)
    : dtype === DType.UINT8 ? Uint8Array.from(values) : dtype === DType.INT32 ? Int32Array.from(values)
      : dtype === DType.INT64 ? BigInt64Array.from(Array.from(values, (v) => BigInt(v))) : undefined;
  if (!typed) throw new Error(`no builder for dtype ${dtype}`);
  return model.graph.addConstant(name, Tensor.fromTyped(name, dtype, dims, typed));
}

/** Integers in [lo, hi], seeded. */
export function ints(n: number, lo: number, hi: number, seed: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

function output(model: Model, v: Value, name = 'y'): void {
  v.rename(name);
  model.graph.outputs.push(v);
}

/** x -> MatMul(DQ(int8 W, per-channel)) -> Add(DQ(int32 bias)) -> y: a dequantized bias, as quantizers write it. */
export function biasDqGraph(): Model {
  const m = newModel(17);
  const g = m.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 8] });
  const w = constant(m, 'w_q', DType.INT8, [8, 4], ints(32, -127, 127, 1));
  const ws = constant(m, 'w_scale', DType.FLOAT, [4], [0.01, 0.02, 0.015, 0.03]);
  const wd = g.addNode({ opType: 'DequantizeLinear', name: 'w_dq', inputs: [w, ws], attributes: { axis: int(1) } }).output(0);
  const h = g.addNode({ opType: 'MatMul', name: 'mm', inputs: [x, wd] }).output(0);
  const b = constant(m, 'b_q', DType.INT32, [4], [1200, -340, 77, 5000]);
  const bs = constant(m, 'b_scale', DType.FLOAT, [], [0.001]);
  const bd = g.addNode({ opType: 'DequantizeLinear', name: 'b_dq', inputs: [b, bs] }).output(0);
  output(m, g.addNode({ opType: 'Add', name: 'bias_add', inputs: [h, bd] }).output(0));
  return m;
}

/**
 * x -> Q(u8, zp 128) -> DQ -> MatMul(DQ(uint8 W, zp per channel)) -> y: asymmetric activations and weights
 * (onnxruntime's default static QDQ form).
 */
export function asymmetricGraph(): Model {
  const m = newModel(17);
  const g = m.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 16] });
  const xs = constant(m, 'x_scale', DType.FLOAT, [], [0.02]);
  const xz = constant(m, 'x_zero', DType.UINT8, [], [128]);
  const xq = g.addNode({ opType: 'QuantizeLinear', name: 'x_q', inputs: [x, xs, xz] }).output(0);
  const xd = g.addNode({ opType: 'DequantizeLinear', name: 'x_dq', inputs: [xq, xs, xz] }).output(0);
  const w = constant(m, 'w_q', DType.UINT8, [16, 8], ints(128, 0, 255, 2));
  const ws = constant(m, 'w_scale', DType.FLOAT, [8], Array.from({ length: 8 }, (_, i) => 0.004 + i * 0.0005));
  const wz = constant(m, 'w_zero', DType.UINT8, [8], ints(8, 100, 150, 3));
  const wd = g.addNode({ opType: 'DequantizeLinear', name: 'w_dq', inputs: [w, ws, wz], attributes: { axis: int(1) } }).output(0);
  output(m, g.addNode({ opType: 'MatMul', name: 'mm', inputs: [xd, wd] }).output(0));
  return m;
}

/** x -> Q(u8) -> QLinearMatMul(s8 W per column) -> DQ -> y: the QOperator form. */
export function qoperatorGraph(): Model {
  const m = newModel(17);
  const g = m.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 16] });
  const xs = constant(m, 'x_scale', DType.FLOAT, [], [0.02]);
  const xz = constant(m, 'x_zero', DType.UINT8, [], [128]);
  const xq = g.addNode({ opType: 'QuantizeLinear', name: 'x_q', inputs: [x, xs, xz] }).output(0);
  const w = constant(m, 'w_q', DType.INT8, [16, 8], ints(128, -100, 100, 4));
  const ws = constant(m, 'w_scale', DType.FLOAT, [8], Array.from({ length: 8 }, (_, i) => 0.003 + i * 0.0002));
  const wz = constant(m, 'w_zero', DType.INT8, [8], new Array(8).fill(0));
  const ys = constant(m, 'y_scale', DType.FLOAT, [], [0.05]);
  const yz = constant(m, 'y_zero', DType.UINT8, [], [128]);
  const yq = g.addNode({ opType: 'QLinearMatMul', name: 'qmm', inputs: [xq, xs, xz, w, ws, wz, ys, yz] }).output(0);
  output(m, g.addNode({ opType: 'DequantizeLinear', name: 'y_dq', inputs: [yq, ys, yz] }).output(0));
  return m;
}

/** a (u8 input) -> MatMulInteger(full-range s8 W, zero points) -> y int32. */
export function matMulIntegerGraph(): Model {
  const m = newModel(17);
  const g = m.graph;
  const a = g.addInput('a', { elemType: DType.UINT8, shape: [4, 32] });
  const w = constant(m, 'w_q', DType.INT8, [32, 8], ints(256, -128, 127, 5));
  const az = constant(m, 'a_zero', DType.UINT8, [], [128]);
  const wz = constant(m, 'w_zero', DType.INT8, [], [0]);
  output(m, g.addNode({ opType: 'MatMulInteger', name: 'mmi', inputs: [a, w, az, wz] }).output(0));
  return m;
}

/** x -> DynamicQuantizeMatMul(s8 W, per-column scale, bias) -> y. */
export function dynamicMatMulGraph(range: number): Model {
  const m = msModel(17);
  const g = m.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 32] });
  const w = constant(m, 'w_q', DType.INT8, [32, 8], ints(256, -range, range, 6));
  const ws = constant(m, 'w_scale', DType.FLOAT, [8], Array.from({ length: 8 }, (_, i) => 0.002 + i * 0.0001));
  const b = randomWeight(m, 'bias', [8], 7);
  output(m, g.addNode({ opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', name: 'dqmm', inputs: [x, w, ws, null, b] }).output(0));
  return m;
}

export interface AttentionShape {
  readonly batch: number;
  readonly seq: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headSize: number;
}

export const GQA_SHAPE: AttentionShape = { batch: 2, seq: 5, heads: 4, kvHeads: 2, headSize: 16 };

/** q, k, v inputs -> GroupQueryAttention (prompt, causal, rotary from constant caches) -> y, present_key. */
export function gqaGraph(s: AttentionShape = GQA_SHAPE, rotary = true, packed = false): Model {
  const m = msModel(17);
  const g = m.graph;
  const { batch, seq, heads, kvHeads, headSize } = s;
  const q = g.addInput('q', { elemType: DType.FLOAT, shape: ['batch', 'seq', (packed ? heads + 2 * kvHeads : heads) * headSize] });
  const k = packed ? null : g.addInput('k', { elemType: DType.FLOAT, shape: ['batch', 'seq', kvHeads * headSize] });
  const v = packed ? null : g.addInput('v', { elemType: DType.FLOAT, shape: ['batch', 'seq', kvHeads * headSize] });
  const seqlens = constant(m, 'seqlens_k', DType.INT32, [batch], new Array(batch).fill(seq - 1));
  const total = m.graph.addConstant('total_len', Tensor.fromTyped('total_len', DType.INT32, [], Int32Array.of(seq)));
  const caches = rotary ? [randomWeight(m, 'cos_cache', [32, headSize / 2], 8), randomWeight(m, 'sin_cache', [32, headSize / 2], 9)] : [null, null];
  const n = g.addNode({
    opType: 'GroupQueryAttention', domain: 'com.microsoft', name: 'gqa', inputs: [q, k, v, null, null, seqlens, total, ...caches],
    outputs: ['y', 'present_key', 'present_value'],
    attributes: { num_heads: int(heads), kv_num_heads: int(kvHeads), ...(rotary ? { do_rotary: int(1) } : {}) },
  });
  g.outputs.push(n.output(0), n.output(1));
  return m;
}

/** q, k, v, mask [B, T] int32 -> MultiHeadAttention(bias, key padding mask, unidirectional) -> y. */
export function mhaGraph(causal: boolean): Model {
  const m = msModel(17);
  const g = m.graph;
  const hidden = 32;
  const q = g.addInput('q', { elemType: DType.FLOAT, shape: ['batch', 'seq', hidden] });
  const k = g.addInput('k', { elemType: DType.FLOAT, shape: ['batch', 'seq', hidden] });
  const v = g.addInput('v', { elemType: DType.FLOAT, shape: ['batch', 'seq', hidden] });
  const mask = g.addInput('attention_mask', { elemType: DType.INT32, shape: ['batch', 'seq'] });
  const bias = randomWeight(m, 'qkv_bias', [3 * hidden], 10);
  const n = g.addNode({
    opType: 'MultiHeadAttention', domain: 'com.microsoft', name: 'mha', inputs: [q, k, v, bias, mask], outputs: ['y'],
    attributes: { num_heads: int(4), ...(causal ? { unidirectional: int(1) } : {}) },
  });
  g.outputs.push(n.output(0));
  return m;
}

/** x, skip -> SkipLayerNormalization(gamma, beta, bias) -> y, and its sum -> Mul -> s; x -> FastGelu/BiasGelu/Gelu/QuickGelu. */
export function normGeluGraph(): Model {
  const m = msModel(17);
  const g = m.graph;
  const hidden = 16;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 'seq', hidden] });
  const skip = g.addInput('skip', { elemType: DType.FLOAT, shape: ['batch', 'seq', hidden] });
  const w = (name: string, seed: number) => randomWeight(m, name, [hidden], seed);
  const ln = g.addNode({ opType: 'SkipLayerNormalization', domain: 'com.microsoft', name: 'skip_ln', inputs: [x, skip, w('gamma', 11), w('beta', 12), w('bias', 13)], outputs: ['ln', '', '', 'ln_sum'], attributes: { epsilon: float(1e-5) } });
  const rms = g.addNode({ opType: 'SkipSimplifiedLayerNormalization', domain: 'com.microsoft', name: 'skip_rms', inputs: [ln.output(0), x, w('gamma2', 14)], outputs: ['rms'], attributes: { epsilon: float(1e-6) } });
  const plain = g.addNode({ opType: 'SimplifiedLayerNormalization', name: 'rms2', inputs: [rms.output(0), w('gamma3', 15)], attributes: { epsilon: float(1e-6), axis: int(-1) } }).output(0);
  const fast = g.addNode({ opType: 'FastGelu', domain: 'com.microsoft', name: 'fast', inputs: [plain, w('fast_bias', 16)] }).output(0);
  const bg = g.addNode({ opType: 'BiasGelu', domain: 'com.microsoft', name: 'bias_gelu', inputs: [fast, w('gelu_bias', 17)] }).output(0);
  const ge = g.addNode({ opType: 'Gelu', domain: 'com.microsoft', name: 'gelu', inputs: [bg] }).output(0);
  const qg = g.addNode({ opType: 'QuickGelu', domain: 'com.microsoft', name: 'quick', inputs: [ge], attributes: { alpha: float(1.702) } }).output(0);
  output(m, qg, 'y');
  output(m, g.addNode({ opType: 'Mul', inputs: [ln.output(3), ln.output(3)] }).output(0), 'sum_sq');
  return m;
}

/** x [B, S, H*D] -> com.microsoft RotaryEmbedding (positions [B, S] or an offset) -> y. */
export function rotaryGraph(interleaved: boolean, offset: boolean): Model {
  const m = msModel(17);
  const g = m.graph;
  const heads = 2, head = 16;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 5, heads * head] });
  const pos = offset ? constant(m, 'offset', DType.INT64, [1], [3]) : constant(m, 'positions', DType.INT64, [2, 5], [0, 1, 2, 3, 4, 7, 6, 5, 4, 3]);
  const n = g.addNode({
    opType: 'RotaryEmbedding', domain: 'com.microsoft', name: 'rope',
    inputs: [x, pos, randomWeight(m, 'cos', [16, head / 2], 18), randomWeight(m, 'sin', [16, head / 2], 19)],
    attributes: { num_heads: int(heads), interleaved: int(interleaved ? 1 : 0) },
  });
  output(m, n.output(0));
  return m;
}

/** x [B, S, 32] -> com.microsoft Attention (packed projection weights and bias, [B, T] mask) -> y. */
export function packedAttentionGraph(causal: boolean): Model {
  const m = msModel(17);
  const g = m.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 'seq', 32] });
  const mask = g.addInput('attention_mask', { elemType: DType.INT32, shape: ['batch', 'seq'] });
  const n = g.addNode({
    opType: 'Attention', domain: 'com.microsoft', name: 'attn', inputs: [x, randomWeight(m, 'qkv_w', [32, 96], 20), randomWeight(m, 'qkv_b', [96], 21), mask],
    outputs: ['y'], attributes: { num_heads: int(4), ...(causal ? { unidirectional: int(1) } : {}) },
  });
  g.outputs.push(n.output(0));
  return m;
}
