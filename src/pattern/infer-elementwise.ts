/** Inference rules for element-wise operators, reductions, products and the fused operators this project emits. */
import type { Facts, Rule, RuleContext } from './facts.js';
import { Sym, type Dim } from './sym.js';
import { DType } from '../ir/dtype.js';
import { bool, broadcastShapes, divide, equal, isIntType, mapElements, normAxis, numeric, withValue } from './infer-util.js';

const same: Rule = ({ ins }) => [{ ...ins[0], value: undefined }];
/** Output 0 and any number of extra outputs keep the input's type and shape. */
const sameAll = (outputs: number): Rule => ({ ins }) => Array.from({ length: outputs }, () => ({ dtype: ins[0]?.dtype, shape: ins[0]?.shape }));

function binary(f: (a: Dim, b: Dim, integer: boolean) => Dim, resultType?: number): Rule {
  return ({ ins }) => {
    const shape = broadcastShapes([ins[0]?.shape, ins[1]?.shape]);
    const dtype = resultType ?? ins[0]?.dtype;
    const integer = isIntType(ins[0]?.dtype);
    const value = mapElements(ins.slice(0, 2), shape, ([a, b]) => f(a, b, integer));
    return [withValue({ dtype, shape }, value)];
  };
}

const compare = (f: (x: number, y: number) => boolean): Rule => binary((a, b) => numeric(a, b, (x, y) => (f(x, y) ? 1 : 0)), DType.BOOL);

const unaryValue = (f: (a: Dim) => Dim): Rule => ({ ins }) => [withValue({ dtype: ins[0]?.dtype, shape: ins[0]?.shape }, mapElements([ins[0]!], ins[0]?.shape, ([a]) => f(a)))];

const cast: Rule = ({ node, ins }) => {
  const to = node.getInt('to', 0);
  const x = ins[0] ?? {};
  const integer = isIntType(to);
  const value = mapElements([x], x.shape, ([a]) => {
    const n = a?.value;
    if (to === DType.BOOL) return n === undefined ? undefined : Sym.num(n !== 0 ? 1 : 0);
    if (integer && n !== undefined) return Sym.num(Math.trunc(n));
    return isIntType(x.dtype) === integer ? a : n === undefined ? undefined : Sym.num(n);
  });
  return [withValue({ dtype: to, shape: x.shape }, value)];
};

const where: Rule = ({ ins }) => {
  const shape = broadcastShapes([ins[0]?.shape, ins[1]?.shape, ins[2]?.shape]);
  const value = mapElements(ins.slice(0, 3), shape, ([c, a, b]) => (c?.value === undefined ? undefined : c.value !== 0 ? a : b));
  return [withValue({ dtype: ins[1]?.dtype ?? ins[2]?.dtype, shape }, value)];
};

function reduce(ctx: RuleContext): readonly Facts[] {
  const { node, ins } = ctx;
  const shape = ins[0]?.shape;
  const keep = node.getInt('keepdims', 1) === 1;
  const fromInput = node.inputs.length > 1 && node.inputs[1];
  const axes = fromInput ? ins[1]?.value?.map((d) => d?.value) : node.getInts('axes');
  if (!shape) return [{ dtype: ins[0]?.dtype }];
  if (axes && axes.some((a) => a === undefined)) return [{ dtype: ins[0]?.dtype }];
  const all = !axes || axes.length === 0;
  if (all && fromInput && node.getInt('noop_with_empty_axes', 0) === 1) return [{ dtype: ins[0]?.dtype, shape }];
  const set = new Set((axes ?? []).map((a) => normAxis(a!, shape.length)));
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (all || set.has(i)) { if (keep) out.push(Sym.num(1)); } else out.push(d);
  });
  return [{ dtype: ins[0]?.dtype, shape: out }];
}

const matmul: Rule = ({ ins }) => {
  const a = ins[0]?.shape, b = ins[1]?.shape;
  if (!a || !b || a.length === 0 || b.length === 0) return [{ dtype: ins[0]?.dtype }];
  const a2 = a.length === 1 ? [Sym.num(1), a[0]] : a;
  const b2 = b.length === 1 ? [b[0], Sym.num(1)] : b;
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return [{ dtype: ins[0]?.dtype }];
  const shape = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
  return [{ dtype: ins[0]?.dtype, shape }];
};

const gemm: Rule = ({ node, ins }) => {
  const a = ins[0]?.shape, b = ins[1]?.shape;
  if (!a || !b || a.length !== 2 || b.length !== 2) return [{ dtype: ins[0]?.dtype }];
  const m = node.getInt('transA', 0) ? a[1] : a[0];
  const n = node.getInt('transB', 0) ? b[0] : b[1];
  return [{ dtype: ins[0]?.dtype, shape: [m, n] }];
};

/** A product whose result type is not its first input's: integer matmuls and their float-scaled forms. */
const matmulTo = (dtype: (ctx: RuleContext) => number | undefined): Rule => (ctx) => [{ ...matmul(ctx)[0], dtype: dtype(ctx) }];

/** MatMulNBits: A [..., K] times the packed [N, K] weight: [..., N], N from the attribute. */
const matmulNBits: Rule = ({ node, ins }) => {
  const a = ins[0]?.shape, n = node.getInt('N');
  return [{ dtype: ins[0]?.dtype, ...(a && a.length > 0 && n !== undefined ? { shape: [...a.slice(0, -1), Sym.num(n)] } : {}) }];
};

/** DynamicQuantizeLinear: uint8 codes of x's shape, a scalar float scale and a scalar uint8 zero point. */
const dynamicQuantize: Rule = ({ ins }) => [{ dtype: DType.UINT8, shape: ins[0]?.shape }, { dtype: DType.FLOAT, shape: [] }, { dtype: DType.UINT8, shape: [] }];

/** com.microsoft attention ops: output [batch, sequence, heads * v_head] from query and value. */
const attention: Rule = ({ node, ins }) => {
  const q = ins[0]?.shape, v = ins[2]?.shape;
  if (!q || q.length !== 3) return [{ dtype: ins[0]?.dtype }];
  const heads = node.getInt('num_heads', 0);
  const kvHeads = node.getInt('kv_num_heads', heads);
  let hidden: Dim = q[2];
  if (v && v.length === 3 && v[2] && kvHeads > 0) hidden = v[2].divExact(Sym.num(kvHeads))?.mul(Sym.num(heads));
  return [{ dtype: ins[0]?.dtype, shape: [q[0], q[1], hidden] }];
};

/** Attention (opset 23): 3-D [B, S, q_heads * head] inputs give [B, S, q_heads * v_head]; 4-D keeps [B, H, S, v_head]. */
const onnxAttention: Rule = ({ node, ins }) => {
  const q = ins[0]?.shape, v = ins[2]?.shape;
  if (!q || !v) return [{ dtype: ins[0]?.dtype }];
  if (q.length === 4 && v.length === 4) return [{ dtype: ins[0]?.dtype, shape: [q[0], q[1], q[2], v[3]] }];
  const heads = node.getInt('q_num_heads', 0), kvHeads = node.getInt('kv_num_heads', 0);
  const hidden = v[2] && kvHeads > 0 ? v[2].divExact(Sym.num(kvHeads))?.mul(Sym.num(heads)) : undefined;
  return [{ dtype: ins[0]?.dtype, shape: [q[0], q[1], hidden] }];
};

/** com.microsoft Attention: input [B, S, h] and packed weights [h, q + k + v] give [B, S, v]. */
const packedAttention: Rule = ({ node, ins }) => {
  const x = ins[0]?.shape, w = ins[1]?.shape;
  const sizes = node.getInts('qkv_hidden_sizes');
  const total = w?.[1]?.value;
  const v = sizes ? sizes[2] : total !== undefined ? total / 3 : undefined;
  if (!x || x.length !== 3 || v === undefined) return [{ dtype: ins[0]?.dtype }];
  return [{ dtype: ins[0]?.dtype, shape: [x[0], x[1], Sym.num(v)] }];
};

const unary = ['Abs', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Tanh', 'Erf', 'Sigmoid', 'Relu', 'Cos', 'Sin',
  'Softmax', 'LogSoftmax', 'CumSum', 'Trilu', 'Gelu', 'Floor', 'Ceil', 'Round', 'Sign', 'Elu', 'LeakyRelu', 'HardSigmoid',
  'Softplus', 'Mish', 'Clip'];

export const elementwiseRules: ReadonlyArray<readonly [string, Rule]> = [
  ...unary.map((op) => [op, same] as const),
  ['Identity', unaryValue((a) => a)],
  ['Neg', unaryValue((a) => a?.neg())],
  ['Not', ({ ins }) => [withValue({ dtype: DType.BOOL, shape: ins[0]?.shape }, mapElements([ins[0]!], ins[0]?.shape, ([a]) => (a?.value === undefined ? undefined : Sym.num(a.value ? 0 : 1))))]],
  ['IsNaN', ({ ins }) => [{ dtype: DType.BOOL, shape: ins[0]?.shape }]],
  ['IsInf', ({ ins }) => [{ dtype: DType.BOOL, shape: ins[0]?.shape }]],
  ['Dropout', sameAll(1)],
  ['Cast', cast],
  ['Add', binary((a, b) => (a && b ? a.add(b) : undefined))],
  ['Sub', binary((a, b) => (a && b ? a.sub(b) : undefined))],
  ['Mul', binary((a, b) => (a && b ? a.mul(b) : undefined))],
  ['Div', binary(divide)],
  ['Mod', binary((a, b) => numeric(a, b, (x, y) => x % y))],
  ['Pow', binary((a, b) => numeric(a, b, (x, y) => x ** y))],
  ['Max', binary((a, b) => numeric(a, b, Math.max))],
  ['Min', binary((a, b) => numeric(a, b, Math.min))],
  ['Equal', binary((a, b) => bool(equal(a, b)), DType.BOOL)],
  ['Less', compare((x, y) => x < y)],
  ['LessOrEqual', compare((x, y) => x <= y)],
  ['Greater', compare((x, y) => x > y)],
  ['GreaterOrEqual', compare((x, y) => x >= y)],
  ['And', binary((a, b) => numeric(a, b, (x, y) => (x && y ? 1 : 0)), DType.BOOL)],
  ['Or', binary((a, b) => numeric(a, b, (x, y) => (x || y ? 1 : 0)), DType.BOOL)],
  ['Xor', binary((a, b) => numeric(a, b, (x, y) => ((x !== 0) !== (y !== 0) ? 1 : 0)), DType.BOOL)],
  ['Where', where],
  ...['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceSumSquare', 'ReduceL1', 'ReduceLogSumExp'].map((op) => [op, reduce] as const),
  ['MatMul', matmul],
  ['Gemm', gemm],
  ['LayerNormalization', sameAll(1)],
  ['SimplifiedLayerNormalization', sameAll(1)],
  ['RMSNormalization', sameAll(1)],
  ['com.microsoft.SkipLayerNormalization', ({ ins }) => [{ dtype: ins[0]?.dtype, shape: ins[0]?.shape }, {}, {}, { dtype: ins[0]?.dtype, shape: ins[0]?.shape }]],
  ['com.microsoft.SkipSimplifiedLayerNormalization', ({ ins }) => [{ dtype: ins[0]?.dtype, shape: ins[0]?.shape }, {}, {}, { dtype: ins[0]?.dtype, shape: ins[0]?.shape }]],
  ['com.microsoft.FastGelu', same],
  ['com.microsoft.BiasGelu', same],
  ['com.microsoft.Gelu', same],
  ['com.microsoft.RotaryEmbedding', same],
  ['RotaryEmbedding', same],
  ['com.microsoft.MultiHeadAttention', attention],
  ['com.microsoft.GroupQueryAttention', attention],
  ['Attention', onnxAttention],
  ['com.microsoft.Attention', packedAttention],
  ['MatMulInteger', matmulTo(() => DType.INT32)],
  ['com.microsoft.MatMulIntegerToFloat', matmulTo(({ ins }) => ins[2]?.dtype ?? DType.FLOAT)],
  ['com.microsoft.DynamicQuantizeMatMul', matmulTo(({ ins }) => ins[0]?.dtype)],
  ['com.microsoft.MatMulNBits', matmulNBits],
  ['DynamicQuantizeLinear', dynamicQuantize],
  ['DequantizeLinear', ({ ins }) => [{ dtype: ins[1]?.dtype ?? DType.FLOAT, shape: ins[0]?.shape }]],
  ['QuantizeLinear', ({ node, ins }) => [{ dtype: ins[2]?.dtype ?? (node.getInt('output_dtype') || DType.UINT8), shape: ins[0]?.shape }]],
];
