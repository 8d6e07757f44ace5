/**
 * Quantization format moves:
 *   DQ(int32 bias, s[, zp]) -> float bias constant                                    exact (same float math)
 *   DQ(W uint8|asymmetric|wrong axis) -> DQ(W' int8|int4, s', axis)                    requantized: symmetric, signed,
 *                                                                                       narrow range; error growth reported
 *   Q(x, s, zp:u8) -> DQ(., s, zp)  ->  Q(x, s', 0:i8) -> DQ(., s', 0)                 same range, one bit less resolution
 *   DQ(DynamicQuantizeLinear(x)) -> x                                                  where run-time scales are not taken
 *   MatMulInteger/DynamicQuantizeMatMul/MatMulIntegerToFloat(u8, s8 W) -> (u8, u8 W+128, zp+128)   exact, CPU without VNNI
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import {
  dequantizesConstant, hasNonzeroZeroPoint, integerValues, isBiasDq, isStandard, isUnsignedQuant, outputChannelAxis, qdqParams, qualifiedName,
} from '../../../src/targets/qdq.js';
import { SAFE_S8 } from '../../../src/targets/rules/quant.js';
import { Emitter, int } from './emit.js';
import { floatTensor, floatValues, groupIndex, readConstantDq, requantizeSymmetric } from './dequantize.js';
import type { Rewrite, RewriteContext } from './context.js';

function dropIfUnused(v: Value | null | undefined): void {
  if (v?.initializer && v.isUnused) v.graph.removeInitializer(v);
}

function biasToFloat(ctx: RewriteContext, node: Node): void {
  const dq = readConstantDq(node);
  if (!dq) { ctx.explain(node, 'bias operands not constant'); return; }
  const out = node.output(0);
  const old = node.inputs.slice();
  const bias = new Emitter(node).constant('bias', floatTensor('bias', dq.scale.dtype, dq.data.dims, dq.values));
  out.replaceAllUsesWith(bias);
  node.graph.removeNode(node);
  old.forEach(dropIfUnused);
  ctx.count('biasDequantized');
}

/** The axis a weight DQ should use for this target, or undefined to keep its grouping. */
function wantedAxis(ctx: RewriteContext, node: Node, rank: number): number | undefined {
  if (!ctx.profile.quant.channelAxis || node.getInt('block_size', 0)) return undefined;
  for (const use of node.output(0).uses) {
    const axis = outputChannelAxis(use.node, use.index, rank);
    if (axis !== undefined) return axis;
  }
  return undefined;
}

function needsRequantize(ctx: RewriteContext, node: Node): boolean {
  const q = ctx.profile.quant;
  const p = qdqParams(node, (v) => ctx.types.get(v));
  const blocked = p.blockSize > 0;
  if (q.unsignedTypes && isUnsignedQuant(p.quantType)) return true;
  if (q.symmetricOnly && hasNonzeroZeroPoint(p)) return true;
  if (!blocked && q.symmetricWeights && (isUnsignedQuant(p.quantType) || hasNonzeroZeroPoint(p))) return true;
  const data = constantTensor(node.inputs[0])!;
  const want = wantedAxis(ctx, node, data.dims.length);
  const s = constantTensor(node.inputs[1]);
  const rank = data.dims.length;
  return want !== undefined && s !== undefined && s.elementCount > 1 && ((node.getInt('axis', 1) % rank) + rank) % rank !== want;
}

function requantizeWeight(ctx: RewriteContext, node: Node): void {
  const dq = readConstantDq(node);
  if (!dq) { ctx.explain(node, 'weight operands not constant'); return; }
  const bits = dq.data.dtype === DType.INT4 || dq.data.dtype === DType.UINT4 ? 4 : 8;
  if (![DType.INT4, DType.UINT4, DType.INT8, DType.UINT8].includes(dq.data.dtype as 2)) { ctx.explain(node, 'not an 8/4-bit weight'); return; }
  const want = wantedAxis(ctx, node, dq.data.dims.length);
  const axis = want ?? dq.axis;
  const groups = want === undefined ? dq.groups : groupIndex(dq.data.dims, want, 0);
  const scaleDims = want === undefined ? dq.scale.dims : [dq.data.dims[want]!];
  const count = scaleDims.reduce((a, b) => a * b, 1);
  const base = node.input(0).name;
  const r = requantizeSymmetric(dq.values, dq.data.dims, groups, count, scaleDims, bits, dq.scale.dtype, base);
  const e = new Emitter(node);
  const old = node.inputs.slice();
  node.setInput(0, e.constant('q', r.data));
  node.setInput(1, e.constant('scale', r.scale));
  node.truncateInputs(2);
  if (axis === undefined) node.removeAttribute('axis');
  else node.setAttribute('axis', int(axis));
  old.forEach(dropIfUnused);
  ctx.count('weightsRequantized');
  ctx.max('requantizeErrorMax', Number(r.relativeError.toPrecision(3)));
  ctx.explain(node, `requantized symmetric ${bits}-bit${want !== undefined ? ` along axis ${want}` : ''}: relative error ${r.relativeError.toExponential(2)}`);
}

/** Q -> DQ pairs on activations: symmetric int8 over the same representable range. */
function symmetricActivation(ctx: RewriteContext, q: Node): void {
  const p = qdqParams(q, (v) => ctx.types.get(v));
  const s = p.scaleTensor;
  const z = p.zeroPointTensor;
  if (!s || !z) { ctx.explain(q, 'activation scale or zero point not constant'); return; }
  const readers = q.output(0).uses.map((u) => u.node);
  const same = (v: Value | null | undefined, w: Value | null | undefined) => v === w || (!!v && !!w && sameBytes(v, w));
  if (!readers.every((r) => isStandard(r, 'DequantizeLinear') && same(r.inputs[1], q.inputs[1]) && same(r.inputs[2], q.inputs[2]))) {
    ctx.explain(q, 'quantized activation read by something other than a matching DequantizeLinear');
    return;
  }
  const [lo, hi] = isUnsignedQuant(z.dtype) ? [0, z.dtype === DType.UINT4 ? 15 : 255] : [z.dtype === DType.INT4 ? -8 : -128, z.dtype === DType.INT4 ? 7 : 127];
  const qmax = z.dtype === DType.INT4 || z.dtype === DType.UINT4 ? 7 : 127;
  const zs = integerValues(z);
  const ss = floatValues(s);
  const next = Float32Array.from(ss, (scale, i) => Math.max(Math.abs((lo - zs[i]!) * scale), Math.abs((hi - zs[i]!) * scale)) / qmax);
  const e = new Emitter(q);
  const scale = e.constant('sym_scale', floatTensor('sym_scale', s.dtype, s.dims, next));
  const signed = qmax === 7 ? DType.INT4 : DType.INT8;
  const zero = e.constant('sym_zero', Tensor.fromBytes('sym_zero', signed, z.dims, new Uint8Array(Math.ceil(z.elementCount * (qmax === 7 ? 0.5 : 1)))));
  const old = [q.inputs[1], q.inputs[2], ...readers.flatMap((r) => [r.inputs[1], r.inputs[2]])];
  for (const n of [q, ...readers]) { n.setInput(1, scale); n.setInput(2, zero); }
  const out = q.output(0);
  if (out.type) out.type = { ...out.type, elemType: signed };
  old.forEach(dropIfUnused);
  ctx.count('activationsSymmetric');
  ctx.max('activationStepGrowth', Number(Math.max(...next.map((v, i) => v / ss[i]!)).toPrecision(3)));
}

function sameBytes(a: Value, b: Value): boolean {
  const x = constantTensor(a), y = constantTensor(b);
  if (!x || !y || x.dtype !== y.dtype || x.elementCount !== y.elementCount) return false;
  const p = x.bytes(), q = y.bytes();
  return p.length === q.length && p.every((v, i) => v === q[i]);
}

function dropDynamic(ctx: RewriteContext): void {
  for (const d of ctx.nodes('DynamicQuantizeLinear')) {
    const [y, s, z] = d.outputs;
    for (const use of [...(y?.uses ?? [])]) {
      const r = use.node;
      if (use.index !== 0 || !isStandard(r, 'DequantizeLinear') || r.inputs[1] !== s || r.inputs[2] !== z) continue;
      r.output(0).replaceAllUsesWith(d.input(0));
      r.graph.removeNode(r);
      ctx.count('activationQuantDropped');
    }
    if (d.outputs.every((v) => !v || v.isUnused)) d.graph.removeNode(d);
    else ctx.explain(d, 'quantized activation read by an integer op: kept');
  }
}

/** s8 weights of the CPU integer kernels -> u8 with zero point + 128 (the same integers, exact kernel). */
const S8_WEIGHT: Readonly<Record<string, [number, number]>> = {
  MatMulInteger: [1, 3], 'com.microsoft.DynamicQuantizeMatMul': [1, 3], 'com.microsoft.MatMulIntegerToFloat': [1, 5],
};

function s8ToU8(ctx: RewriteContext, node: Node): void {
  const slot = S8_WEIGHT[qualifiedName(node)];
  if (!slot) return;
  const [wi, zi] = slot;
  const w = constantTensor(node.inputs[wi]);
  if (!w || w.dtype !== DType.INT8) return;
  if (node.opType !== 'DynamicQuantizeMatMul' && ctx.types.get(node.input(0)) !== DType.UINT8) return;
  const values = integerValues(w);
  if (!values.some((v) => Math.abs(v) > SAFE_S8)) return;
  const zp = node.inputs[zi] ? constantTensor(node.inputs[zi]) : undefined;
  if (node.inputs[zi] && !zp) { ctx.explain(node, 'weight zero point not constant'); return; }
  const e = new Emitter(node);
  const old = [node.inputs[wi], node.inputs[zi]];
  node.setInput(wi, e.constant('u8', Tensor.fromBytes('u8', DType.UINT8, w.dims, Uint8Array.from(values, (v) => v + 128))));
  const z = zp ? Uint8Array.from(integerValues(zp), (v) => v + 128) : Uint8Array.of(128);
  while (node.inputs.length < zi) node.appendInput(null);
  node.setInput(zi, e.constant('u8_zero_point', Tensor.fromBytes('u8_zero_point', DType.UINT8, zp ? zp.dims : [], z)));
  old.forEach(dropIfUnused);
  ctx.count('weightsToU8');
}

export const quantFormatRewrite: Rewrite = {
  name: 'quant-format',
  applies: () => true,
  run(ctx) {
    const q = ctx.profile.quant;
    if (q.dynamicActivations && ctx.options.dropDynamic) dropDynamic(ctx);
    for (const node of [...ctx.model.graph.nodes]) {
      if (q.s8Saturation) s8ToU8(ctx, node);
      if (!isStandard(node, 'DequantizeLinear') || !node.graph.nodes.includes(node)) continue;
      if (q.biasDq && isBiasDq(node)) { biasToFloat(ctx, node); continue; }
      if (ctx.options.requantize && dequantizesConstant(node) && needsRequantize(ctx, node)) requantizeWeight(ctx, node);
    }
    if (!q.symmetricOnly && !q.unsignedTypes) return;
    for (const node of ctx.nodes('QuantizeLinear')) {
      const p = qdqParams(node, (v) => ctx.types.get(v));
      if ((q.unsignedTypes && isUnsignedQuant(p.quantType)) || (q.symmetricOnly && hasNonzeroZeroPoint(p))) symmetricActivation(ctx, node);
    }
  },
};
