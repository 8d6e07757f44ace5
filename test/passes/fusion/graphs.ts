/** Small hand-built graphs for the fusion tests: the decomposed forms exporters write, and their near misses. */
import type { Model } from '../../../src/ir/model.js';
import type { Graph } from '../../../src/ir/graph.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { newModel, randomWeight } from '../../helpers/tiny.js';
import type { Feeds, HostTensor } from '../../../src/runtime/tensors.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';

export const C = 16;

export function scalar(g: Graph, hint: string, value: number): Value {
  return g.addConstant(hint, Tensor.fromTyped(hint, DType.FLOAT, [], Float32Array.of(value)));
}

export function ints(g: Graph, hint: string, values: readonly number[]): Value {
  return g.addConstant(hint, Tensor.fromTyped(hint, DType.INT64, [values.length], BigInt64Array.from(values, BigInt)));
}

type Op = (opType: string, inputs: (Value | null)[], attrs?: Record<string, number | readonly number[]>) => Value;

/** A model with input x [batch, seq, C] and a helper that appends single-output nodes. */
export function start(opset = 17): { model: Model; g: Graph; x: Value; op: Op; out: (v: Value) => void } {
  const model = newModel(opset);
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 'seq', C] });
  const op: Op = (opType, inputs, attrs = {}) => g.addNode({
    opType, inputs,
    attributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, typeof v === 'number' ? { type: 'int', value: v } : { type: 'ints', value: v }])),
  }).output(0);
  const out = (v: Value) => {
    v.type = { elemType: DType.FLOAT };
    g.outputs.push(v);
  };
  return { model, g, x, op, out };
}

export interface RmsOptions {
  readonly form?: 'div-one' | 'reciprocal' | 'divide' | 'pow';
  readonly axis?: number;
  readonly epsInput?: boolean;
  readonly weight?: 'const' | 'input' | 'none';
  /** Also return the mean square as a graph output (read outside the pattern). */
  readonly leak?: boolean;
}

/** x / sqrt(mean(x^2) + eps) * w in the chosen spelling. */
export function rmsNorm(o: RmsOptions = {}): Model {
  const { model, g, x, op, out } = start();
  const ms = op('ReduceMean', [op('Pow', [x, scalar(g, 'two', 2)])], { axes: [o.axis ?? -1], keepdims: 1 });
  const eps = o.epsInput ? g.addInput('eps', { elemType: DType.FLOAT, shape: [] }) : scalar(g, 'eps', 1e-6);
  const sum = op('Add', [ms, eps]);
  let n: Value;
  switch (o.form ?? 'div-one') {
    case 'div-one': n = op('Mul', [x, op('Div', [scalar(g, 'one', 1), op('Sqrt', [sum])])]); break;
    case 'reciprocal': n = op('Mul', [op('Reciprocal', [op('Sqrt', [sum])]), x]); break;
    case 'divide': n = op('Div', [x, op('Sqrt', [sum])]); break;
    default: n = op('Mul', [x, op('Pow', [sum, scalar(g, 'half', -0.5)])]);
  }
  const w = o.weight === 'input' ? g.addInput('w', { elemType: DType.FLOAT, shape: [C] }) : randomWeight(model, 'w', [C], 3);
  out(o.weight === 'none' ? n : op('Mul', [w, n]));
  if (o.leak) out(ms);
  return model;
}

/** (x - mean) / sqrt(var + eps) * gamma + beta, decomposed. */
export function layerNorm(o: { axis?: number; leak?: boolean } = {}): Model {
  const { model, g, x, op, out } = start();
  const axes = [o.axis ?? -1];
  const d = op('Sub', [x, op('ReduceMean', [x], { axes, keepdims: 1 })]);
  const variance = op('ReduceMean', [op('Mul', [d, d])], { axes, keepdims: 1 });
  const n = op('Div', [d, op('Sqrt', [op('Add', [variance, scalar(g, 'eps', 1e-5)])])]);
  out(op('Add', [op('Mul', [n, randomWeight(model, 'gamma', [C], 4)]), randomWeight(model, 'beta', [C], 5)]));
  if (o.leak) out(d);
  return model;
}

/** GELU of x (+ bias): erf form grouped as BERT exports it, or GPT-2's tanh form. */
export function gelu(o: { kind: 'erf' | 'tanh'; bias?: boolean; half?: number; opset?: number }): Model {
  const { model, g, x: input, op, out } = start(o.opset);
  const x = o.bias ? op('Add', [randomWeight(model, 'b', [C], 6), input]) : input;
  const half = scalar(g, 'half', o.half ?? 0.5);
  if (o.kind === 'erf') {
    const inner = op('Add', [op('Erf', [op('Div', [x, scalar(g, 'sqrt2', Math.SQRT2)])]), scalar(g, 'one', 1)]);
    out(op('Mul', [op('Mul', [x, inner]), half]));
  } else {
    const cube = op('Mul', [op('Pow', [x, scalar(g, 'three', 3)]), scalar(g, 'a', 0.044715)]);
    const t = op('Tanh', [op('Mul', [op('Add', [x, cube]), scalar(g, 'k', Math.sqrt(2 / Math.PI))])]);
    out(op('Mul', [op('Mul', [x, half]), op('Add', [t, scalar(g, 'one', 1)])]));
  }
  return model;
}

/** LayerNormalization (or SimplifiedLayerNormalization) of a residual sum, the sum also read afterwards. */
export function residualNorm(o: { simplified?: boolean; bias?: boolean; readSum?: boolean; axis?: number }): Model {
  const { model, g, x, op, out } = start();
  const skip = g.addInput('skip', { elemType: DType.FLOAT, shape: ['batch', 'seq', C] });
  const a = o.bias ? op('Add', [op('MatMul', [x, randomWeight(model, 'w', [C, C], 7)]), randomWeight(model, 'b', [C], 8)]) : x;
  const sum = op('Add', [a, skip]);
  const gamma = randomWeight(model, 'gamma', [C], 9);
  const norm = o.simplified
    ? op('SimplifiedLayerNormalization', [sum, gamma], { axis: o.axis ?? -1 })
    : op('LayerNormalization', [sum, gamma, randomWeight(model, 'beta', [C], 10)], { axis: o.axis ?? -1 });
  out(norm);
  if (o.readSum) out(op('Relu', [sum]));
  return model;
}

/** Token inputs for a model: ids within `vocab`, masks as random 0/1 rows (each with a 1) when `padded`. */
export function tokenFeeds(model: Model, batch: number, seq: number, o: { vocab?: number; padded?: boolean; seed?: number } = {}): Feeds {
  const rand = mulberry32(o.seed ?? 1);
  const feeds: Record<string, HostTensor> = {};
  for (const input of model.graph.inputs) {
    const n = batch * seq;
    const mask = /mask/i.test(input.name);
    const values = Array.from({ length: n }, (_, i) => (mask ? (o.padded && i % seq !== 0 && rand() < 0.3 ? 0 : 1) : Math.floor(rand() * (o.vocab ?? 256))));
    feeds[input.name] = { dtype: DType.INT64, dims: [batch, seq], data: BigInt64Array.from(values, BigInt) };
  }
  return feeds;
}

export interface AttentionOptions {
  /** Where the 1/sqrt(D) goes: on the scores, split as D^-1/4 on Q and K, a per-head tensor, or an input. */
  readonly scale?: 'scores' | 'split' | 'per-head' | 'runtime';
  /**
   * causal (Trilu), padding from attention_mask, one built from input_ids values, a multiplicative one, or a
   * soft one (Where filling -5: it does not remove the score).
   */
  readonly mask?: 'none' | 'causal' | 'padding' | 'from-ids' | 'multiply' | 'soft';
  /** Also return the attention probabilities (read outside the pattern). */
  readonly leak?: boolean;
}

/** One self-attention block over x [batch, seq, 16] with 2 heads of 8 (constant reshape targets). */
export function attention(o: AttentionOptions = {}): Model {
  const { model, g, x, op, out } = start();
  const H = 2, D = C / H;
  const proj = (seed: number) => op('MatMul', [x, randomWeight(model, `w${seed}`, [C, C], seed)]);
  const heads = (v: Value, perm: number[]) => op('Transpose', [op('Reshape', [v, ints(g, 'split', [0, 0, H, D])])], { perm });
  let q = heads(proj(11), [0, 2, 1, 3]);
  let k = heads(proj(12), [0, 2, 3, 1]);
  const v = heads(proj(13), [0, 2, 1, 3]);
  const scale = o.scale ?? 'scores';
  if (scale === 'split') {
    q = op('Mul', [q, scalar(g, 'qs', D ** -0.25)]);
    k = op('Mul', [k, scalar(g, 'ks', D ** -0.25)]);
  }
  let scores = op('MatMul', [q, k]);
  if (scale === 'scores') scores = op('Div', [scores, scalar(g, 'sqrt_d', Math.sqrt(D))]);
  if (scale === 'per-head') scores = op('Mul', [scores, g.addConstant('per_head', Tensor.fromTyped('per_head', DType.FLOAT, [1, H, 1, 1], Float32Array.of(0.3, 0.4)))]);
  if (scale === 'runtime') scores = op('Mul', [scores, g.addInput('temperature', { elemType: DType.FLOAT, shape: [] })]);
  scores = withMask(g, x, op, scores, o.mask ?? 'none');
  const probs = op('Softmax', [scores], { axis: -1 });
  const merged = op('Reshape', [op('Transpose', [op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), ints(g, 'merge', [0, 0, C])]);
  out(op('MatMul', [merged, randomWeight(model, 'wo', [C, C], 14)]));
  if (o.leak) out(probs);
  return model;
}

function withMask(g: Graph, x: Value, op: Op, scores: Value, mask: NonNullable<AttentionOptions['mask']>): Value {
  const f = (hint: string, v: number) => scalar(g, hint, v);
  switch (mask) {
    case 'none': return scores;
    case 'causal': {
      const seq = op('Shape', [x], { start: 1, end: 2 });
      const ones = g.addNode({ opType: 'ConstantOfShape', inputs: [op('Concat', [seq, seq], { axis: 0 })], attributes: { value: { type: 'tensor', value: Tensor.fromTyped('one', DType.FLOAT, [1], Float32Array.of(1)) } } }).output(0);
      const keep = op('Cast', [op('Trilu', [ones], { upper: 0 })], { to: DType.BOOL });
      return op('Where', [keep, scores, f('neg_inf', -Infinity)]);
    }
    case 'soft': {
      const am = g.addInput('attention_mask', { elemType: DType.INT64, shape: ['batch', 'seq'] });
      const keep = op('Cast', [op('Unsqueeze', [am, ints(g, 'axes12', [1, 2])])], { to: DType.BOOL });
      return op('Where', [keep, scores, f('soft', -5)]);
    }
    case 'padding': {
      const am = g.addInput('attention_mask', { elemType: DType.INT64, shape: ['batch', 'seq'] });
      const m = op('Cast', [op('Unsqueeze', [am, ints(g, 'axes12', [1, 2])])], { to: DType.FLOAT });
      return op('Add', [scores, op('Mul', [op('Sub', [f('one', 1), m]), f('lowest', -3.4028234663852886e38)])]);
    }
    case 'from-ids': {
      const ids = g.addInput('input_ids', { elemType: DType.INT64, shape: ['batch', 'seq'] });
      const pad = op('Equal', [op('Unsqueeze', [ids, ints(g, 'axes12', [1, 2])]), ints(g, 'pad_id', [3])]);
      return op('Add', [scores, op('Where', [pad, f('masked', -1e9), f('open', 0)])]);
    }
    default: {
      const am = g.addInput('attention_mask', { elemType: DType.INT64, shape: ['batch', 'seq'] });
      return op('Mul', [scores, op('Cast', [op('Unsqueeze', [am, ints(g, 'axes12', [1, 2])])], { to: DType.FLOAT })]);
    }
  }
}
