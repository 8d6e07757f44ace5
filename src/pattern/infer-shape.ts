/** Inference rules for the shape-manipulating operators (the ones exporters build shape subgraphs from). */
import type { Facts, Rule, RuleContext } from './facts.js';
import { tensorFacts } from './facts.js';
import { Sym, numbers, product, type Dim } from './sym.js';
import { DType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { broadcastShapes, mapElements, normAxis, withValue } from './infer-util.js';

/** Slice ends at or beyond this mean "to the end". */
const HUGE = 2 ** 31 - 1;

/** Axes from input 1 (newer opsets) or the `axes` attribute (older ones). */
function axesOf({ node, ins }: RuleContext, input = 1): number[] | undefined {
  if (node.inputs[input]) return numbers(ins[input]?.value);
  return node.getInts('axes') ? [...node.getInts('axes')!] : undefined;
}

const shapeOp: Rule = ({ node, ins }) => {
  const shape = ins[0]?.shape;
  if (!shape) return [{ dtype: DType.INT64 }];
  const r = shape.length;
  const clamp = (x: number) => Math.min(Math.max(normAxis(x, r), 0), r);
  const dims = shape.slice(clamp(node.getInt('start', 0)), clamp(node.getInt('end', r)));
  return [{ dtype: DType.INT64, shape: [Sym.num(dims.length)], value: dims }];
};

const reshape: Rule = ({ node, ins }) => {
  const x = ins[0] ?? {};
  const target = ins[1]?.value;
  if (!target) return [{ dtype: x.dtype, shape: numbers(ins[1]?.shape)?.length === 1 ? Array.from({ length: numbers(ins[1]!.shape)![0]! }, () => undefined) : undefined }];
  const allowZero = node.getInt('allowzero', 0) === 1;
  const out: Dim[] = target.map((d, i) => (d?.value === 0 && !allowZero ? x.shape?.[i] : d));
  const minus = out.findIndex((d) => d?.value === -1);
  if (minus >= 0) {
    const others = out.filter((_, i) => i !== minus);
    const total = x.shape ? product(x.shape) : undefined;
    const known = others.every((d) => d !== undefined) ? product(others) : undefined;
    out[minus] = total && known ? total.divExact(known) : undefined;
  }
  return [withValue({ dtype: x.dtype, shape: out }, numbers(out) ? x.value : undefined)];
};

const flatten: Rule = ({ node, ins }) => {
  const s = ins[0]?.shape;
  if (!s) return [{ dtype: ins[0]?.dtype }];
  const axis = normAxis(node.getInt('axis', 1), s.length);
  return [withValue({ dtype: ins[0]?.dtype, shape: [product(s.slice(0, axis)), product(s.slice(axis))] }, ins[0]?.value)];
};

const squeeze: Rule = (ctx) => {
  const s = ctx.ins[0]?.shape;
  if (!s) return [{ dtype: ctx.ins[0]?.dtype }];
  const axes = axesOf(ctx);
  const drop = axes ? new Set(axes.map((a) => normAxis(a, s.length))) : new Set(s.flatMap((d, i) => (d?.value === 1 ? [i] : [])));
  if (!axes && s.some((d) => d === undefined)) return [{ dtype: ctx.ins[0]?.dtype }];
  return [withValue({ dtype: ctx.ins[0]?.dtype, shape: s.filter((_, i) => !drop.has(i)) }, ctx.ins[0]?.value)];
};

const unsqueeze: Rule = (ctx) => {
  const s = ctx.ins[0]?.shape;
  const axes = axesOf(ctx);
  if (!s || !axes) return [{ dtype: ctx.ins[0]?.dtype }];
  const rank = s.length + axes.length;
  const at = new Set(axes.map((a) => normAxis(a, rank)));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? Sym.num(1) : s[j++]);
  return [withValue({ dtype: ctx.ins[0]?.dtype, shape: out }, ctx.ins[0]?.value)];
};

const transpose: Rule = ({ node, ins }) => {
  const s = ins[0]?.shape;
  if (!s) return [{ dtype: ins[0]?.dtype }];
  const perm = node.getInts('perm') ?? s.map((_, i) => s.length - 1 - i);
  const scalarLike = numbers(s)?.filter((d) => d !== 1).length ?? 2;
  return [withValue({ dtype: ins[0]?.dtype, shape: perm.map((p) => s[p]) }, scalarLike <= 1 ? ins[0]?.value : undefined)];
};

const concat: Rule = ({ node, ins }) => {
  const shapes = ins.map((f) => f.shape);
  const first = shapes.find((s) => s);
  if (!first) return [{ dtype: ins[0]?.dtype }];
  const axis = normAxis(node.getInt('axis', 0), first.length);
  if (shapes.some((s) => !s || s.length !== first.length)) return [{ dtype: ins[0]?.dtype, shape: first.map((d, i) => (i === axis ? undefined : d)) }];
  const out = first.map((d, i) => (i === axis ? shapes.reduce<Dim>((acc, s) => (acc && s![i] ? acc.add(s![i]!) : undefined), Sym.num(0)) : d));
  const value = first.length === 1 && ins.every((f) => f.value) ? ins.flatMap((f) => f.value!) : undefined;
  return [withValue({ dtype: ins[0]?.dtype, shape: out }, value)];
};

const split: Rule = ({ node, ins }) => {
  const s = ins[0]?.shape;
  const n = node.outputs.length;
  if (!s) return node.outputs.map(() => ({ dtype: ins[0]?.dtype }));
  const axis = normAxis(node.getInt('axis', 0), s.length);
  const given = node.inputs[1] ? numbers(ins[1]?.value) : node.getInts('split') ? [...node.getInts('split')!] : undefined;
  const whole = s[axis]?.value;
  const sizes = given ?? (whole !== undefined && whole % n === 0 ? Array.from({ length: n }, () => whole / n) : undefined);
  let offset = 0;
  return node.outputs.map((_, i) => {
    const size = sizes?.[i];
    const shape = s.map((d, j) => (j === axis ? (size === undefined ? undefined : Sym.num(size)) : d));
    const value = s.length === 1 && ins[0]?.value && size !== undefined ? ins[0].value.slice(offset, offset + size) : undefined;
    offset += size ?? 0;
    return withValue({ dtype: ins[0]?.dtype, shape }, value);
  });
};

/** Length of x[start:end:step] on an axis of extent d (symbolic only in the common exporter cases). */
function sliceLength(d: Dim, start: Dim, end: Dim, step: number): [Dim, number | undefined] {
  const n = d?.value, b = start?.value, e = end?.value;
  if (n !== undefined && b !== undefined && e !== undefined) {
    const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x < 0 ? x + n : x, lo), hi);
    const [first, last] = step > 0 ? [clamp(b, 0, n), clamp(e, 0, n)] : [clamp(b, -1, n - 1), clamp(e, -1, n - 1)];
    return [Sym.num(Math.max(0, Math.ceil((last - first) / step))), first];
  }
  if (step !== 1 || !d) return [undefined, undefined];
  if (b !== undefined && b >= 0 && e !== undefined && e >= HUGE) return [d.sub(Sym.num(b)), b];
  if (b === 0 && end && !end.isConst) return [end, 0];   // x[:k] with a dynamic k: the exporter asked for k items
  if (b !== undefined && b < 0 && e !== undefined && e >= HUGE) return [Sym.num(-b), undefined];
  return [undefined, undefined];
}

const slice: Rule = ({ node, ins, opset }) => {
  const s = ins[0]?.shape;
  if (!s) return [{ dtype: ins[0]?.dtype }];
  const fromInputs = opset >= 10;
  const starts = fromInputs ? ins[1]?.value : node.getInts('starts')?.map((x) => Sym.num(x));
  const ends = fromInputs ? ins[2]?.value : node.getInts('ends')?.map((x) => Sym.num(x));
  const axes = fromInputs ? (node.inputs[3] ? numbers(ins[3]?.value) : starts?.map((_, i) => i)) : [...(node.getInts('axes') ?? starts?.map((_, i) => i) ?? [])];
  const steps = fromInputs && node.inputs[4] ? numbers(ins[4]?.value) : starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) return [{ dtype: ins[0]?.dtype, shape: s.map(() => undefined) }];
  const out = [...s];
  let offset: number | undefined;
  axes.forEach((a, i) => {
    const axis = normAxis(a, s.length);
    const [len, first] = sliceLength(s[axis], starts[i], ends[i], steps[i]!);
    out[axis] = len;
    if (s.length === 1 && steps[i] === 1) offset = first;
  });
  const len = out[0]?.value;
  const value = s.length === 1 && ins[0]?.value && offset !== undefined && len !== undefined ? ins[0].value.slice(offset, offset + len) : undefined;
  return [withValue({ dtype: ins[0]?.dtype, shape: out }, value)];
};

const gather: Rule = ({ node, ins }) => {
  const data = ins[0]?.shape, idx = ins[1]?.shape;
  if (!data || !idx) return [{ dtype: ins[0]?.dtype }];
  const axis = normAxis(node.getInt('axis', 0), data.length);
  const shape = [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)];
  const picks = numbers(ins[1]?.value);
  const extent = data[0]?.value;
  const value = data.length === 1 && ins[0]?.value && picks && extent !== undefined
    ? picks.map((p) => ins[0]!.value![p < 0 ? p + extent : p]) : undefined;
  return [withValue({ dtype: ins[0]?.dtype, shape }, value)];
};

const expand: Rule = ({ ins }) => {
  const target = ins[1]?.value ?? (numbers(ins[1]?.shape)?.length === 1 ? Array.from({ length: numbers(ins[1]!.shape)![0]! }, () => undefined) : undefined);
  const shape = target ? broadcastShapes([ins[0]?.shape, target]) : undefined;
  return [withValue({ dtype: ins[0]?.dtype, shape }, mapElements([ins[0] ?? {}], shape, ([a]) => a))];
};

const tile: Rule = ({ ins }) => {
  const s = ins[0]?.shape, reps = ins[1]?.value;
  if (!s || !reps) return [{ dtype: ins[0]?.dtype, shape: s?.map(() => undefined) }];
  return [{ dtype: ins[0]?.dtype, shape: s.map((d, i) => (d && reps[i] ? d.mul(reps[i]!) : undefined)) }];
};

const constantOfShape: Rule = ({ node, ins }) => {
  const fill = node.attr('value');
  const f = fill?.type === 'tensor' ? tensorFacts(fill.value) : { dtype: DType.FLOAT, value: [Sym.num(0)] };
  const shape = ins[0]?.value ? [...ins[0].value] : undefined;
  const value = f.value ? mapElements([{ shape: [], value: f.value.slice(0, 1) }], shape, ([a]) => a) : undefined;
  return [withValue({ dtype: f.dtype, shape }, value)];
};

const range: Rule = ({ ins }) => {
  const [s, l, d] = [ins[0]?.value?.[0], ins[1]?.value?.[0], ins[2]?.value?.[0]];
  const dtype = ins[0]?.dtype;
  const [a, b, c] = [s?.value, l?.value, d?.value];
  if (a !== undefined && b !== undefined && c !== undefined && c !== 0) {
    const n = Math.max(0, Math.ceil((b - a) / c));
    const value = n <= 64 ? Array.from({ length: n }, (_, i) => Sym.num(a + i * c)) : undefined;
    return [withValue({ dtype, shape: [Sym.num(n)] }, value)];
  }
  return [{ dtype, shape: [c === 1 && s && l ? l.sub(s) : undefined] }];
};

const constant: Rule = ({ node }) => {
  const a = [...node.attributes.values()][0];
  if (!a) return [{}];
  switch (a.type) {
    case 'tensor': return [tensorFacts(a.value)];
    case 'int': return [{ dtype: DType.INT64, shape: [], value: [Sym.num(a.value)] }];
    case 'float': return [{ dtype: DType.FLOAT, shape: [], value: [Sym.num(a.value)] }];
    case 'ints': return [tensorFacts(Tensor.fromTyped('', DType.INT64, [a.value.length], BigInt64Array.from(a.value, BigInt)))];
    case 'floats': return [tensorFacts(Tensor.fromTyped('', DType.FLOAT, [a.value.length], Float32Array.from(a.value)))];
    default: return [{}];
  }
};

export const shapeRules: ReadonlyArray<readonly [string, Rule]> = [
  ['Shape', shapeOp],
  ['Size', ({ ins }) => [{ dtype: DType.INT64, shape: [], value: ins[0]?.shape ? [product(ins[0].shape)] : undefined } as Facts]],
  ['Reshape', reshape],
  ['Flatten', flatten],
  ['Squeeze', squeeze],
  ['Unsqueeze', unsqueeze],
  ['Transpose', transpose],
  ['Concat', concat],
  ['Split', split],
  ['Slice', slice],
  ['Gather', gather],
  ['GatherElements', ({ ins }) => [{ dtype: ins[0]?.dtype, shape: ins[1]?.shape }]],
  ['Expand', expand],
  ['Tile', tile],
  ['ConstantOfShape', constantOfShape],
  ['Range', range],
  ['Constant', constant],
];
