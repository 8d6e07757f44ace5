/**
 * QOperator integer matmuls -> QDQ (float MatMul between DequantizeLinear nodes):
 *   QLinearMatMul(a, sa, za, b, sb, zb, sy, zy)  ->  QuantizeLinear(MatMul(DQ(a, sa, za), DQ(b, sb, zb)), sy, zy)
 *   MatMulInteger(a, b, za, zb)                  ->  Cast<int32>(MatMul(DQ(a, 1, za), DQ(b, 1, zb)))   exact while |sums| < 2^24
 *   DynamicQuantizeMatMul(x, b, sb, zb, bias)    ->  MatMul(DQ(DynamicQuantizeLinear(x)), DQ(b, sb, zb)) + bias
 *                                                    MatMul(x, DQ(b, sb, zb)) + bias where run-time scales are not taken
 *   MatMulIntegerToFloat(a, b, sa, sb, za, zb, bias) -> MatMul((a - za) * sa, DQ(b, sb, zb)) + bias (DQ(a) for scalar sa)
 * Per-column weight scales become per-axis DQ on the last axis. Seen in onnxruntime quantize_dynamic/static
 * output and quantize-dynamic's qoperator form.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import { Emitter, int, replaceNode } from './emit.js';
import { cast, rankOf } from './ops.js';
import { requireOpset } from './opset.js';
import type { Rewrite, RewriteContext } from './context.js';

/** DQ(x, scale[, zp]); a scale with more than one element runs along x's last axis. */
function dq(e: Emitter, x: Value, scale: Value, zp: Value | null, rank: number | undefined): Value | undefined {
  const s = constantTensor(scale);
  const count = s?.elementCount ?? scale.type?.shape?.reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
  if (count === undefined || Number.isNaN(count)) return undefined;
  if (count === 1) {
    const scalar = s && s.dims.length > 0 ? e.constant('scale', scalarTensor(s)) : scale;
    const zScalar = zp && constantTensor(zp) && constantTensor(zp)!.dims.length > 0 ? e.constant('zero_point', scalarTensor(constantTensor(zp)!)) : zp;
    return e.op('DequantizeLinear', [x, scalar, zScalar]);
  }
  if (rank === undefined) return undefined;
  return e.op('DequantizeLinear', [x, scale, zp], { axis: int(rank - 1) });
}

/** A one-element constant as a rank-0 tensor (per-tensor DQ parameters are scalars). */
const scalarTensor = (t: Tensor): Tensor => Tensor.fromBytes(t.name, t.dtype, [], t.bytes());


function qlinearMatMul(ctx: RewriteContext, node: Node): boolean {
  const [a, sa, za, b, sb, zb, sy, zy] = node.inputs;
  const e = new Emitter(node, ctx.types.get(sa!) ?? DType.FLOAT);
  const fa = dq(e, a!, sa!, za ?? null, rankOf(a!));
  const fb = dq(e, b!, sb!, zb ?? null, rankOf(b!));
  if (!fa || !fb) { ctx.explain(node, 'scale shapes unknown'); return false; }
  const y = e.op('QuantizeLinear', [e.op('MatMul', [fa, fb]), sy!, zy ?? null]);
  replaceNode(node, [y]);
  return true;
}

function matMulInteger(ctx: RewriteContext, node: Node): boolean {
  const [a, b, za, zb] = node.inputs;
  const e = new Emitter(node, DType.FLOAT);
  const zaT = za ? constantTensor(za) : undefined;
  if (za && (!zaT || zaT.elementCount !== 1)) { ctx.explain(node, 'per-row activation zero points'); return false; }
  const fa = dq(e, a!, e.f('one', [1]), za ?? null, rankOf(a!));
  const zbCount = zb ? constantTensor(zb)?.elementCount : 1;
  if (zbCount === undefined) { ctx.explain(node, 'weight zero point not constant'); return false; }
  const ones = e.f('ones', new Float32Array(zbCount).fill(1), zbCount === 1 ? [] : [zbCount]);
  const fb = dq(e, b!, ones, zb ?? null, rankOf(b!));
  if (!fa || !fb) { ctx.explain(node, 'ranks unknown'); return false; }
  replaceNode(node, [cast(e, e.op('MatMul', [fa, fb]), DType.INT32)]);
  return true;
}

function dynamicQuantizeMatMul(ctx: RewriteContext, node: Node): boolean {
  const [x, b, sb, zb, bias] = node.inputs;
  const e = new Emitter(node, ctx.types.get(x!) ?? DType.FLOAT);
  const fb = dq(e, b!, sb!, zb ?? null, rankOf(b!));
  if (!fb) { ctx.explain(node, 'weight scale shape unknown'); return false; }
  let fx = x!;
  if (!dropsDynamic(ctx)) {
    const q = e.node('DynamicQuantizeLinear', [x!], {}, 3);
    fx = e.op('DequantizeLinear', [q.output(0), q.output(1), q.output(2)]);
  } else ctx.count('activationQuantDropped');
  const mm = e.op('MatMul', [fx, fb]);
  replaceNode(node, [bias ? e.op('Add', [mm, bias]) : mm]);
  return true;
}

function matMulIntegerToFloat(ctx: RewriteContext, node: Node, shared: SharedRows): boolean {
  const [a, b, sa, sb, za, zb, bias] = node.inputs;
  const e = new Emitter(node, ctx.types.get(sa!) ?? DType.FLOAT);
  const fb = dq(e, b!, sb!, zb ?? null, rankOf(b!));
  const scalarA = (constantTensor(sa!)?.elementCount ?? (sa!.producer?.opType === 'DynamicQuantizeLinear' ? 1 : 0)) === 1;
  let fa: Value | undefined;
  if (scalarA) fa = dq(e, a!, sa!, za ?? null, rankOf(a!)) ?? e.op('DequantizeLinear', [a!, sa!, za ?? null]);
  else fa = dequantizeRows(ctx, e, a!, sa!, za ?? null, shared);
  if (!fb || !fa) { ctx.explain(node, 'scale shapes unknown'); return false; }
  const mm = e.op('MatMul', [fa, fb]);
  replaceNode(node, [bias ? e.op('Add', [mm, bias]) : mm]);
  return true;
}

/**
 * What the rewrites of one run share: dequantized activations by (a, scale, zero point), so that the
 * projections reading one quantized input share one; float copies of constant zero points.
 */
interface SharedRows {
  readonly rows: Map<string, Value>;
  readonly zeroPoints: Map<Value, Value>;
}

/** A constant zero point as one float constant (its integer initializer is dropped once unread), else a Cast. */
function floatZeroPoint(e: Emitter, za: Value, type: number, shared: SharedRows): Value {
  const t = constantTensor(za);
  if (!t || !za.initializer) return cast(e, za, type);
  const known = shared.zeroPoints.get(za);
  if (known) return known;
  const zero = e.f('zero_point', Float32Array.from(t.toNumbers()), t.dims);
  shared.zeroPoints.set(za, zero);
  return zero;
}

/**
 * Per-row activation scales ([..., 1]) have no DQ form: (a - za) * sa in plain arithmetic, emitted once per
 * quantized activation (before its first reader, the rewrites going in graph order); a constant zero point
 * becomes a float constant rather than a Cast.
 */
function dequantizeRows(ctx: RewriteContext, e: Emitter, a: Value, sa: Value, za: Value | null, shared: SharedRows): Value {
  const key = [a, sa, za].map((v) => v?.name ?? '').join('\u0000');
  const known = shared.rows.get(key);
  if (known) return known;
  const type = ctx.types.get(sa) ?? DType.FLOAT;
  const zero = za ? floatZeroPoint(e, za, type, shared) : undefined;
  const centered = zero ? e.op('Sub', [cast(e, a, type), zero]) : cast(e, a, type);
  const fa = e.op('Mul', [centered, sa]);
  shared.rows.set(key, fa);
  return fa;
}

const dropsDynamic = (ctx: RewriteContext) => ctx.options.dropDynamic && ctx.profile.quant.dynamicActivations !== undefined;

const RULES: readonly [string, string, string, (ctx: RewriteContext, node: Node, shared: SharedRows) => boolean][] = [
  ['QLinearMatMul', '', 'qLinearMatMuls', qlinearMatMul],
  ['MatMulInteger', '', 'matMulIntegers', matMulInteger],
  ['DynamicQuantizeMatMul', 'com.microsoft', 'dynamicQuantizeMatMuls', dynamicQuantizeMatMul],
  ['MatMulIntegerToFloat', 'com.microsoft', 'matMulIntegerToFloats', matMulIntegerToFloat],
];

export const integerMatMulRewrite: Rewrite = {
  name: 'integer-matmul',
  applies: (ctx) => ctx.profile.quant.qoperator !== undefined || ctx.profile.quant.dynamicActivations !== undefined || ctx.profile.contribOps === undefined,
  run(ctx) {
    const shared: SharedRows = { rows: new Map(), zeroPoints: new Map() };
    for (const [op, domain, stat, rewrite] of RULES) {
      for (const node of ctx.nodes(op, [domain])) {
        const rejected = ctx.rejectsOp(node) || ctx.profile.quant.qoperator !== undefined
          || (op === 'DynamicQuantizeMatMul' && ctx.profile.quant.dynamicActivations !== undefined);
        if (!rejected) continue;
        requireOpset(ctx.model, 13);
        if (rewrite(ctx, node, shared)) ctx.count(stat);
      }
    }
    for (const za of shared.zeroPoints.keys()) if (za.isUnused) za.graph.removeInitializer(za);
  },
};
