/**
 * 4/8-bit blockwise weights, both directions, exact (same codes, scales and zero points):
 *   MatMulNBits(x, B, scales[, zp][, -][, bias])  <->  MatMul(x, DequantizeLinear(Wq [K,N], s [K/bs,N][, zp], axis 0, block_size)) (+ bias)
 *   Gemm(x, DequantizeLinear(Wq [N,K], s, axis 1), c, transB=1)  ->  MatMulNBits(x, B, scales, bias=c)
 * Symmetric MatMulNBits (default zero point 2^(bits-1)) maps to int4/int8 without zero point; explicit
 * zero points to uint4/uint8 with zero point. Float zero points and g_idx have no DQ form and are kept.
 * To DQ where the target takes no com.microsoft ops; to MatMulNBits where onnxruntime would otherwise fuse
 * DQ(int4) -> MatMul with int8 activations (CPU), written with accuracy_level 0.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor, type TypedArray } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import { packCodes, packInt4, packMatMulNBits } from '../../../src/math/pack.js';
import type { BlockwiseWeight } from '../../../src/math/blockwise.js';
import { integerValues, isStandard } from '../../../src/targets/qdq.js';
import { Emitter, int, replaceNode } from './emit.js';
import { requireOpset } from './opset.js';
import type { Rewrite, RewriteContext } from './context.js';

/** Element j of `dst` = element map(j) of `src`, for 16- or 32-bit scales. */
function permute(t: Tensor, dims: readonly number[], map: (j: number) => number): Tensor {
  const src = t.toTyped() as Float32Array | Uint16Array;
  const out = new (src.constructor as { new (n: number): Float32Array | Uint16Array })(src.length);
  for (let j = 0; j < out.length; j++) out[j] = src[map(j)]!;
  return Tensor.fromTyped(t.name, t.dtype, dims, out as TypedArray);
}

/** Unpacks one column's codes (4 or 8 bits, low nibble first). */
function unpack(bytes: Uint8Array, bits: number, count: number, at: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(bits === 8 ? bytes[at + i]! : (bytes[at + (i >> 1)]! >> ((i & 1) * 4)) & 0x0f);
  return out;
}

function nbitsToDq(ctx: RewriteContext, node: Node): boolean {
  const [k, n, bits, bs] = ['K', 'N', 'bits', 'block_size'].map((a) => node.getInt(a, 0)) as [number, number, number, number];
  const b = constantTensor(node.inputs[1]);
  const scales = constantTensor(node.inputs[2]);
  const zpT = node.inputs[3] ? constantTensor(node.inputs[3]) : undefined;
  if (bits !== 4 && bits !== 8) { ctx.explain(node, `${bits}-bit weights have no DequantizeLinear type here`); return false; }
  if (!b || !scales || (node.inputs[3] && (!zpT || zpT.dtype !== DType.UINT8)) || node.inputs[4]) {
    ctx.explain(node, 'weights not constant, float zero points or g_idx: no exact DQ form');
    return false;
  }
  const blocks = Math.ceil(k / bs);
  const mid = 1 << (bits - 1);
  const bytes = b.bytes();
  const blob = (bs * bits) / 8;
  const zpBytes = zpT?.bytes();
  const zpPerCol = Math.ceil((blocks * bits) / 8);
  const zps = Array.from({ length: n }, (_, col) => (zpBytes ? unpack(zpBytes, bits, blocks, col * zpPerCol) : new Array<number>(blocks).fill(mid)));
  const signed = zps.every((z) => z.every((v) => v === mid));
  const values = new Int32Array(k * n);
  for (let col = 0; col < n; col++) {
    const codes = unpack(bytes, bits, blocks * bs, col * blocks * blob);
    for (let i = 0; i < k; i++) values[i * n + col] = signed ? codes[i]! - mid : codes[i]!;
  }
  const e = new Emitter(node);
  const dtype = bits === 4 ? (signed ? DType.INT4 : DType.UINT4) : signed ? DType.INT8 : DType.UINT8;
  const toBytes = (v: ArrayLike<number>) => (bits === 4 ? packInt4(v) : Uint8Array.from(v, (x) => x & 0xff));
  const w = e.constant('q', Tensor.fromBytes('q', dtype, [k, n], toBytes(values)));
  const s = e.constant('scale', permute(scales, [blocks, n], (j) => (j % n) * blocks + Math.floor(j / n)));
  const inputs: Value[] = [w, s];
  if (!signed) {
    const zp = Array.from({ length: blocks * n }, (_, j) => zps[j % n]![Math.floor(j / n)]!);
    inputs.push(e.constant('zero_point', Tensor.fromBytes('zero_point', dtype, [blocks, n], toBytes(zp))));
  }
  requireOpset(ctx.model, 21);
  const dq = e.op('DequantizeLinear', inputs, { axis: int(0), block_size: int(bs) });
  const mm = e.op('MatMul', [node.input(0), dq]);
  const bias = node.inputs[5];
  replaceNode(node, [bias ? e.op('Add', [mm, bias]) : mm]);
  if (node.getInt('accuracy_level', 0) === 4) ctx.explain(node, 'accuracy_level 4 (int8 activations) becomes float activations');
  return true;
}

interface DqWeight { readonly dq: Node; readonly values: Int32Array; readonly transposed: boolean; readonly k: number; readonly n: number }

/** A DQ(block_size) weight read as [K, N] (MatMul, axis 0) or [N, K] (Gemm transB, axis 1). */
function dqWeight(dq: Node, transposed: boolean): DqWeight | undefined {
  const data = constantTensor(dq.inputs[0]);
  const bs = dq.getInt('block_size', 0);
  if (!data || data.dims.length !== 2 || bs < 16 || (bs & (bs - 1)) !== 0) return undefined;
  if (![DType.INT4, DType.UINT4, DType.INT8, DType.UINT8].includes(data.dtype as 2)) return undefined;
  const axis = (dq.getInt('axis', 1) + 2) % 2;
  if (axis !== (transposed ? 1 : 0)) return undefined;
  const [k, n] = transposed ? [data.dims[1]!, data.dims[0]!] : [data.dims[0]!, data.dims[1]!];
  return { dq, values: integerValues(data), transposed, k, n };
}

function dqToNbits(ctx: RewriteContext, reader: Node, w: DqWeight): void {
  const { dq, k, n, transposed } = w;
  const data = constantTensor(dq.inputs[0])!;
  const scales = constantTensor(dq.inputs[1])!;
  const zpT = dq.inputs[2] ? constantTensor(dq.inputs[2]) : undefined;
  const bits = data.dtype === DType.INT4 || data.dtype === DType.UINT4 ? 4 : 8;
  const offset = data.dtype === DType.INT4 ? 8 : data.dtype === DType.INT8 ? 128 : 0;
  const bs = dq.getInt('block_size', 0);
  const blocks = Math.ceil(k / bs);
  const zpValues = zpT ? integerValues(zpT) : undefined;
  const at = (i: number, col: number) => (transposed ? col * k + i : i * n + col);
  const sAt = (b: number, col: number) => (transposed ? col * blocks + b : b * n + col);
  const codes = new Uint8Array(n * blocks * bs);
  const zeroPoints = new Uint8Array(n * blocks);
  for (let col = 0; col < n; col++) {
    for (let b = 0; b < blocks; b++) zeroPoints[col * blocks + b] = (zpValues?.[sAt(b, col)] ?? 0) + offset;
    for (let i = 0; i < blocks * bs; i++) codes[col * blocks * bs + i] = i < k ? w.values[at(i, col)]! + offset : zeroPoints[col * blocks + Math.floor(i / bs)]!;
  }
  const mid = 1 << (bits - 1);
  const q: BlockwiseWeight = {
    n, k, blocks, bits, blockSize: bs, codes, scales: new Float32Array(0), zeroPoints, symmetric: zeroPoints.every((z) => z === mid),
  };
  const packed = packMatMulNBits(q);
  const e = new Emitter(reader);
  const inputs: (Value | null)[] = [
    reader.input(0),
    e.constant('nbits_b', Tensor.fromBytes('nbits_b', DType.UINT8, [n, blocks, (bs * bits) / 8], packed.b)),
    e.constant('nbits_scales', permute(scales, [n * blocks], (j) => sAt(j % blocks, Math.floor(j / blocks)))),
  ];
  if (!q.symmetric) {
    const per = Math.ceil((blocks * bits) / 8);
    const zp = new Uint8Array(n * per);
    for (let col = 0; col < n; col++) packCodes(zeroPoints.subarray(col * blocks, (col + 1) * blocks), bits, zp.subarray(col * per, (col + 1) * per));
    inputs.push(e.constant('nbits_zp', Tensor.fromBytes('nbits_zp', DType.UINT8, [n * per], zp)));
  }
  const bias = isStandard(reader, 'Gemm') ? reader.inputs[2] : null;
  if (bias) { while (inputs.length < 5) inputs.push(null); inputs.push(bias); }
  const y = e.node('MatMulNBits', inputs, {
    K: int(k), N: int(n), bits: int(bits), block_size: int(bs), accuracy_level: int(0),
  }, 1, 'com.microsoft').output(0);
  ctx.model.requireOpset('com.microsoft', 1);
  replaceNode(reader, [y]);
  if (dq.outputs[0]!.isUnused) dq.graph.removeNode(dq);
}

/** Readers of a blockwise DQ that MatMulNBits can replace: MatMul weight, or Gemm(transB=1, alpha=beta=1) weight with a vector bias. */
function nbitsReader(node: Node): DqWeight | undefined {
  const dq = node.inputs[1]?.producer;
  if (!dq || !isStandard(dq, 'DequantizeLinear') || dq.getInt('block_size', 0) === 0) return undefined;
  if (isStandard(node, 'MatMul')) return dqWeight(dq, false);
  if (!isStandard(node, 'Gemm') || node.getInt('transA', 0) || node.getFloat('alpha', 1) !== 1 || node.getFloat('beta', 1) !== 1) return undefined;
  const c = node.inputs[2];
  if (c && c.type?.shape?.length !== 1 && constantTensor(c)?.dims.length !== 1) return undefined;
  return dqWeight(dq, node.getInt('transB', 0) === 1);
}

export const blockwiseRewrite: Rewrite = {
  name: 'blockwise',
  applies: () => true,
  run(ctx) {
    if (ctx.profile.forms.blockwise === 'qdq') {
      for (const node of ctx.nodes('MatMulNBits', ['com.microsoft'])) if (nbitsToDq(ctx, node)) ctx.count('matMulNBitsToDq');
      return;
    }
    // Only where the QDQ form would run inexactly (onnxruntime's int8-activation fusion).
    if (!ctx.profile.quant.qdqMatMulFusion) return;
    for (const node of [...ctx.model.graph.nodes]) {
      const w = nbitsReader(node);
      if (!w) continue;
      dqToNbits(ctx, node, w);
      ctx.count('dqToMatMulNBits');
    }
  },
};
