import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import convertFloat16 from '../../../passes/quantize/convert-float16.js';
import { inferElementTypes } from '../../../passes/quantize/float16/element-types.js';
import { cloneModel } from '../../helpers/model.js';
import { newModel, randomWeight } from '../../helpers/tiny.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { DType } from '../../../src/ir/dtype.js';
import { Graph } from '../../../src/ir/graph.js';
import { Tensor } from '../../../src/ir/tensor.js';
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { quietContext, type PassResult } from '../../../src/pipeline/pass.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { runModel, Session, type SessionOptions } from '../../../src/runtime/session.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import type { Feeds, HostTensor } from '../../../src/runtime/tensors.js';
import { float16ToFloat32, float32ToFloat16 } from '../../../src/math/half.js';
import { loadModel } from '../../../src/io/load.js';
import { saveModel } from '../../../src/io/save.js';
import { readNpy } from '../../../src/runtime/npy.js';
import { evaluateMaskedLm, evaluatePerplexity } from '../../../src/eval/evaluate.js';

type Options = Parameters<typeof convertFloat16.options.parse>[0];

async function convert(model: Model, options: Options = {}, calibration?: Dataset): Promise<{ after: Model; result: PassResult }> {
  const after = cloneModel(model);
  const result = await convertFloat16.run(after, convertFloat16.options.parse(options), quietContext({ calibration }));
  verifyModel(after, 'convert-float16');
  return { after, result };
}

const f = (x: number) => ({ type: 'float' as const, value: x });
const i = (x: number) => ({ type: 'int' as const, value: x });
const ints = (x: number[]) => ({ type: 'ints' as const, value: x });

function values(t: HostTensor): Float32Array {
  if (t.dtype === DType.FLOAT16) return float16ToFloat32(t.data as Uint16Array);
  return t.data as Float32Array;
}

/** Largest |a - b| over every output; Infinity when an output is not finite where the reference is. */
async function maxError(before: Model, after: Model, feeds: Feeds, session?: SessionOptions): Promise<number> {
  const a = await runModel(before, feeds);
  const b = await runModel(after, feeds, session);
  let max = 0;
  for (const name of Object.keys(a)) {
    const x = values(a[name]!), y = values(b[name]!);
    assert.equal(x.length, y.length, `output '${name}' size`);
    for (let k = 0; k < x.length; k++) {
      const d = Math.abs(x[k]! - y[k]!);
      max = Math.max(max, Number.isFinite(d) ? d : Infinity);
    }
  }
  return max;
}

function castsOf(model: Model): Node[] {
  return model.graph.nodes.filter((n) => n.opType === 'Cast');
}

/** Cast(u -> a) fed by Cast(v -> b) with a equal to v's type: a pair that cancels. */
function cancellingPairs(model: Model): number {
  const types = inferElementTypes(model.graph);
  return castsOf(model).filter((c) => {
    const p = c.inputs[0]?.producer;
    return p?.opType === 'Cast' && types.get(p.inputs[0]!) === c.getInt('to');
  }).length;
}

function typeOf(model: Model, node: Node): number | undefined {
  return inferElementTypes(model.graph).get(node.output(0));
}

function only(model: Model, opType: string): Node {
  const found = model.graph.nodes.filter((n) => n.opType === opType);
  assert.equal(found.length, 1, `one ${opType}`);
  return found[0]!;
}

/** x[batch, 8] -> MatMul(W1) -> Add(b1) -> Relu -> MatMul(W2) -> y[batch, 4] */
function mlp(): Model {
  const model = newModel();
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 8] });
  const h = g.addNode({ opType: 'MatMul', name: 'proj', inputs: [x, randomWeight(model, 'w1', [8, 16], 1)] }).output(0);
  const a = g.addNode({ opType: 'Add', inputs: [h, randomWeight(model, 'b1', [16], 2)] }).output(0);
  const r = g.addNode({ opType: 'Relu', name: 'relu', inputs: [a] }).output(0);
  const y = g.addNode({ opType: 'MatMul', name: 'head', inputs: [r, randomWeight(model, 'w2', [16, 4], 3)], outputs: ['y'] }).output(0);
  y.type = { elemType: DType.FLOAT, shape: ['batch', 4] };
  g.outputs.push(y);
  return model;
}

const scalar = (model: Model, name: string, x: number): Value => model.graph.addConstant(name, Tensor.fromTyped(name, DType.FLOAT, [], Float32Array.of(x)));

/**
 * Wraps every node that reads or writes `low` in Casts to float32 and back, so that each output is rounded to
 * `low` as on a device computing in 16 bits. onnxruntime's CPU provider otherwise runs float16 nodes that lack
 * a kernel in float32 and drops the roundings between them, and has no bfloat16 arithmetic at all.
 */
function emulate(model: Model, low: number): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  const types = inferElementTypes(g);
  for (const node of [...g.nodes]) {
    if (node.opType === 'Cast' || node.opType === 'Constant') continue;
    node.inputs.forEach((v, k) => {
      if (v && types.get(v) === low) node.setInput(k, g.addNode({ opType: 'Cast', inputs: [v], attributes: { to: i(DType.FLOAT) }, before: node }).output(0));
    });
    const next = g.nodes[g.nodes.indexOf(node) + 1];
    for (const y of node.outputs) {
      if (!y || types.get(y) !== low || y.isGraphOutput) continue;
      const c = g.addNode({ opType: 'Cast', inputs: [y], attributes: { to: i(low) }, before: next });
      for (const u of [...y.uses]) if (u.node !== c) u.node.setInput(u.index, c.output(0));
      types.set(c.output(0), low);
      y.type = undefined;
    }
  }
  return copy;
}
const EMULATED: SessionOptions = { optimization: 'disabled' };

describe('convert-float16 on small graphs', () => {
  it('converts an MLP with one Cast at each boundary, within float16 rounding', async () => {
    const model = mlp();
    const { after, result } = await convert(model);
    assert.equal(result.stats.initializersConverted, 3);
    assert.ok(after.graph.initializers.every((v) => v.initializer!.dtype === DType.FLOAT16));
    const casts = castsOf(after);
    assert.equal(casts.length, 2);
    assert.ok(casts.some((c) => c.inputs[0]!.isGraphInput && c.getInt('to') === DType.FLOAT16), 'input cast down');
    assert.ok(casts.some((c) => c.outputs[0]!.isGraphOutput && c.getInt('to') === DType.FLOAT), 'output cast up');
    assert.equal(after.graph.inputs[0]!.type?.elemType, DType.FLOAT);
    assert.equal(after.graph.outputs[0]!.type?.elemType, DType.FLOAT);
    assert.equal(after.graph.outputs[0]!.name, 'y', 'the output keeps its name');
    const feeds = randomFeeds(model, { dims: { batch: 6 } });
    // outputs are O(1): float16 keeps ~3 decimal digits
    for (const optimization of ['disabled', 'all'] as const) assert.ok(await maxError(model, after, feeds, { optimization }) < 0.02);
    assert.equal((await convert(after)).result.modified, false, 'a second run changes nothing');
  });

  it('with keepIoTypes off, inputs and outputs become float16 and no Cast is needed', async () => {
    const model = mlp();
    const { after } = await convert(model, { keepIoTypes: false });
    assert.equal(castsOf(after).length, 0);
    assert.equal(after.graph.inputs[0]!.type?.elemType, DType.FLOAT16);
    assert.equal(after.graph.outputs[0]!.type?.elemType, DType.FLOAT16);
    const feeds = randomFeeds(model, { dims: { batch: 3 } });
    const x = feeds['x']!;
    const half = { x: { dtype: DType.FLOAT16, dims: x.dims, data: float32ToFloat16(x.data as Float32Array) } };
    const a = values((await runModel(model, feeds))['y']!);
    const b = values((await runModel(after, half))['y']!);
    for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k]! - b[k]!) < 0.02);
  });

  for (const [label, options] of [
    ['blockOps', { blockOps: ['Relu'] }],
    ['exclude by name', { exclude: ['relu'] }],
    ['exclude by /regex/', { exclude: ['/^rel/'] }],
    ['exclude by op type', { exclude: ['Relu'] }],
  ] as const) {
    it(`keeps the Relu in float32 (${label}) with Casts only around it`, async () => {
      const model = mlp();
      const { after, result } = await convert(model, options);
      assert.equal(typeOf(after, only(after, 'Relu')), DType.FLOAT);
      assert.ok(after.graph.nodes.filter((n) => n.opType === 'MatMul').every((n) => typeOf(after, n) === DType.FLOAT16));
      assert.equal(castsOf(after).length, 4);
      assert.equal(result.stats.nodesKept, 1);
      assert.ok(await maxError(model, after, randomFeeds(model, { dims: { batch: 4 } })) < 0.02);
    });
  }

  it('leaves an excluded MatMul and its weight in float32', async () => {
    const { after } = await convert(mlp(), { exclude: ['proj'] });
    assert.equal(after.graph.lookup('w1')!.initializer!.dtype, DType.FLOAT);
    assert.equal(after.graph.lookup('w2')!.initializer!.dtype, DType.FLOAT16);
  });

  it('shares one Cast per value and type among its readers, and makes no pair that cancels', async () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 8] });
    const h = g.addNode({ opType: 'MatMul', inputs: [x, randomWeight(model, 'w', [8, 8])] }).output(0);
    for (const op of ['Relu', 'Sigmoid', 'Tanh', 'Abs', 'Neg']) g.outputs.push(g.addNode({ opType: op, inputs: [h], outputs: [op.toLowerCase()] }).output(0));
    const { after } = await convert(model, { blockOps: ['Tanh', 'Abs', 'Neg'] });
    const h2 = only(after, 'MatMul').output(0);
    const readers = h2.consumers();
    assert.deepEqual(readers.filter((n) => n.opType === 'Cast').length, 1, 'one Cast of h to float32');
    assert.equal(readers.filter((n) => n.opType !== 'Cast').length, 2, 'the float16 readers read h itself');
    assert.equal(cancellingPairs(after), 0);
    assert.ok(await maxError(model, after, randomFeeds(model)) < 0.02);
  });

  it('converts Constant nodes in place, duplicates one read in both precisions, narrows ConstantOfShape', async () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [3, 4] });
    const two = g.addNode({ opType: 'Constant', inputs: [], attributes: { value_float: f(2) } }).output(0);
    const half = g.addNode({ opType: 'Constant', inputs: [], attributes: { value: { type: 'tensor', value: Tensor.fromTyped('', DType.FLOAT, [4], Float32Array.of(0.5, 1, 1.5, 2)) } } }).output(0);
    const shape = g.addConstant('shape', Tensor.fromTyped('shape', DType.INT64, [2], BigInt64Array.of(3n, 4n)));
    const ones = g.addNode({ opType: 'ConstantOfShape', inputs: [shape], attributes: { value: { type: 'tensor', value: Tensor.fromTyped('', DType.FLOAT, [1], Float32Array.of(1)) } } }).output(0);
    const a = g.addNode({ opType: 'Mul', inputs: [x, two] }).output(0);
    const b = g.addNode({ opType: 'Mul', inputs: [a, half] }).output(0);
    const c = g.addNode({ opType: 'Add', inputs: [b, ones] }).output(0);
    const e = g.addNode({ opType: 'Pow', inputs: [c, two] }).output(0); // Pow blocked: reads `two` in float32
    g.outputs.push(g.addNode({ opType: 'Add', inputs: [e, c], outputs: ['y'] }).output(0));
    const { after, result } = await convert(model, { blockOps: ['Pow'] });
    assert.equal(result.stats.constantsDuplicated, 1);
    assert.equal(result.stats.constantsConverted, 1);
    const constants = after.graph.nodes.filter((n) => n.opType === 'Constant').map((n) => typeOf(after, n)).sort();
    assert.deepEqual(constants, [DType.FLOAT, DType.FLOAT16, DType.FLOAT16]);
    assert.equal(typeOf(after, only(after, 'ConstantOfShape')), DType.FLOAT16);
    // outputs reach ~200, where the float16 step is 0.125
    assert.ok(await maxError(model, after, randomFeeds(model)) < 0.25);
  });

  it('keeps norm statistics in float32: no overflow of x^2 when |x| > 256', async () => {
    // x -> MatMul -> Cast(float) -> Pow 2 -> ReduceMean -> +eps -> Sqrt -> 1/. -> Mul(.) -> Mul(w) -> MatMul -> y
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 16] });
    const h = g.addNode({ opType: 'MatMul', inputs: [x, randomWeight(model, 'w_in', [16, 16], 4)] }).output(0);
    const xc = g.addNode({ opType: 'Cast', inputs: [h], attributes: { to: i(DType.FLOAT) } }).output(0);
    const sq = g.addNode({ opType: 'Pow', inputs: [xc, scalar(model, 'two', 2)] }).output(0);
    const mean = g.addNode({ opType: 'ReduceMean', inputs: [sq], attributes: { axes: ints([-1]) } }).output(0);
    const eps = g.addNode({ opType: 'Add', inputs: [mean, scalar(model, 'eps', 1e-6)] }).output(0);
    const rms = g.addNode({ opType: 'Sqrt', inputs: [eps] }).output(0);
    const inv = g.addNode({ opType: 'Div', inputs: [scalar(model, 'one', 1), rms] }).output(0);
    const n = g.addNode({ opType: 'Mul', inputs: [xc, inv] }).output(0);
    const s = g.addNode({ opType: 'Mul', inputs: [n, randomWeight(model, 'gamma', [16], 5)] }).output(0);
    g.outputs.push(g.addNode({ opType: 'MatMul', inputs: [s, randomWeight(model, 'w', [16, 4], 6)], outputs: ['y'] }).output(0));
    const big = Float32Array.from({ length: 32 }, (_, k) => (k % 2 ? 300 : -400) + k);
    const feeds = { x: { dtype: DType.FLOAT, dims: [2, 16], data: big } };

    const { after } = await convert(model, { autoBlock: false });
    for (const op of ['Pow', 'ReduceMean', 'Sqrt', 'Div']) assert.equal(typeOf(after, only(after, op)), DType.FLOAT, op);
    assert.ok(after.graph.nodes.filter((n) => n.opType === 'MatMul').every((n) => typeOf(after, n) === DType.FLOAT16));
    assert.equal(cancellingPairs(after), 0, 'the float16 readers of the upcast read its input');
    assert.equal(castsOf(after).length, 4, 'x down, the upcast kept, 1/rms down, y up');
    assert.ok(await maxError(model, emulate(after, DType.FLOAT16), feeds, EMULATED) < 0.02);

    const { after: naive } = await convert(model, { autoBlock: false, precisionRules: false });
    assert.equal(typeOf(naive, only(naive, 'Pow')), DType.FLOAT16);
    assert.ok(await maxError(model, emulate(naive, DType.FLOAT16), feeds, EMULATED) > 0.1, 'without the rule the square overflows');
  });

  it('autoBlock keeps nodes around a value beyond 65504 in float32', async () => {
    // x -> MatMul(W * 1e5) -> h (|h| ~ 1e5) -> Mul(1e-5) -> MatMul -> y
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', 8] });
    const w = randomWeight(model, 'w_big', [8, 8], 7);
    const wt = w.initializer!;
    wt.setBytes(new Uint8Array(Float32Array.from(wt.toFloat32(), (v) => v * 1e5).buffer));
    const h = g.addNode({ opType: 'MatMul', name: 'big', inputs: [x, w] }).output(0);
    const s = g.addNode({ opType: 'Mul', name: 'shrink', inputs: [h, scalar(model, 'small', 1e-5)] }).output(0);
    g.outputs.push(g.addNode({ opType: 'MatMul', name: 'out', inputs: [s, randomWeight(model, 'w2', [8, 4], 8)], outputs: ['y'] }).output(0));
    const feeds = randomFeeds(model, { dims: { batch: 4 }, seed: 3 });

    const { after, result } = await convert(model);
    assert.equal(result.stats.keptRange, 2);
    assert.equal(typeOf(after, after.graph.nodes.find((n) => n.name === 'big')!), DType.FLOAT);
    assert.equal(after.graph.lookup('w_big')!.initializer!.dtype, DType.FLOAT, 'a weight read only in float32 stays float32');
    assert.ok(await maxError(model, emulate(after, DType.FLOAT16), feeds, EMULATED) < 0.02);

    const { after: naive } = await convert(model, { autoBlock: false });
    assert.equal(await maxError(model, emulate(naive, DType.FLOAT16), feeds, EMULATED), Infinity, 'without it the value overflows to Inf');

    // Calibration data, when given, replaces the synthetic inputs: zeros never overflow.
    const zeros: Dataset = { arrays: new Map([['x', { dtype: DType.FLOAT, dims: [4, 8], data: new Float32Array(32) }]]), rows: 4, source: 'zeros' };
    const { result: calibrated } = await convert(model, {}, zeros);
    assert.equal(calibrated.stats.keptRange ?? 0, 0);
  });

  it('saturates a -3.4e38 mask fill: a fully masked row stays a uniform softmax, not NaN', async () => {
    // y = Softmax(x + Where(m, 0, -3.4e38))
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 4] });
    const m = g.addInput('m', { elemType: DType.BOOL, shape: [2, 4] });
    const fill = g.addNode({ opType: 'Constant', inputs: [], attributes: { value: { type: 'tensor', value: Tensor.fromTyped('', DType.FLOAT, [], Float32Array.of(-3.4028234663852886e38)) } } }).output(0);
    const mask = g.addNode({ opType: 'Where', inputs: [m, scalar(model, 'zero', 0), fill] }).output(0);
    const z = g.addNode({ opType: 'Add', inputs: [x, mask] }).output(0);
    g.outputs.push(g.addNode({ opType: 'Softmax', inputs: [z], attributes: { axis: i(-1) }, outputs: ['y'] }).output(0));
    const feeds: Feeds = {
      x: { dtype: DType.FLOAT, dims: [2, 4], data: Float32Array.of(0.5, -1, 2, 0.25, 1, 1, 3, -2) },
      m: { dtype: DType.BOOL, dims: [2, 4], data: Uint8Array.of(1, 1, 0, 1, 0, 0, 0, 0) },
    };
    const { after: converted, result } = await convert(model, { autoBlock: false });
    assert.equal(typeOf(converted, only(converted, 'Where')), DType.FLOAT16);
    assert.equal(result.stats.valuesSaturated, 1);
    assert.ok(await maxError(model, emulate(converted, DType.FLOAT16), feeds, EMULATED) < 0.01);
    const { after: guarded } = await convert(model);
    assert.equal(typeOf(guarded, only(guarded, 'Softmax')), DType.FLOAT, 'the range check keeps the masked softmax in float32');
    assert.ok(await maxError(model, guarded, feeds) < 1e-6);
  });

  it('leaves If branches in float32 and casts the outer value they read', async () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 8] });
    const cond = g.addInput('cond', { elemType: DType.BOOL, shape: [] });
    const h = g.addNode({ opType: 'MatMul', inputs: [x, randomWeight(model, 'w', [8, 8])] }).output(0);
    const branch = (name: string, op: string): Graph => {
      const sub = new Graph(model, name, g);
      const out = sub.addNode({ opType: op, inputs: [h], outputs: [`${name}_y`] }).output(0);
      out.type = { elemType: DType.FLOAT };
      sub.outputs.push(out);
      return sub;
    };
    const y = g.addNode({
      opType: 'If', inputs: [cond], outputs: ['y'],
      attributes: { then_branch: { type: 'graph', value: branch('then', 'Relu') }, else_branch: { type: 'graph', value: branch('else', 'Neg') } },
    }).output(0);
    g.outputs.push(g.addNode({ opType: 'Sigmoid', inputs: [y], outputs: ['z'] }).output(0));
    const { after } = await convert(model);
    assert.equal(typeOf(after, only(after, 'MatMul')), DType.FLOAT16);
    assert.equal(typeOf(after, only(after, 'Sigmoid')), DType.FLOAT16);
    const inner = only(after, 'If').subgraphs()[0]!.nodes[0]!;
    assert.equal(inner.inputs[0]!.producer?.opType, 'Cast', 'the branch reads a float32 Cast of h');
    for (const c of [0, 1]) {
      const feeds = { ...randomFeeds(model), cond: { dtype: DType.BOOL, dims: [], data: Uint8Array.of(c) } };
      assert.ok(await maxError(model, after, feeds) < 0.02);
    }
  });
});

async function loadError(model: Model): Promise<string> {
  try {
    await (await Session.fromModel(model, { optimization: 'disabled' })).release();
    return '';
  } catch (err) {
    return String((err as Error).message);
  }
}

describe('convert-float16 to bfloat16', () => {
  it('writes a type-correct bfloat16 graph that CPU onnxruntime refuses only for want of kernels', async () => {
    const model = mlp();
    const { after } = await convert(model, { dtype: 'bfloat16' });
    assert.ok(after.graph.initializers.every((v) => v.initializer!.dtype === DType.BFLOAT16));
    const error = await loadError(after);
    assert.match(error, /Could not find an implementation/);
    assert.doesNotMatch(error, /Type Error|invalid model/i);
    assert.ok(await maxError(model, emulate(after, DType.BFLOAT16), randomFeeds(model, { dims: { batch: 4 } }), EMULATED) < 0.1, 'bfloat16 keeps ~2-3 digits');
  });

  it('keeps ops without a bfloat16 form at the model opset in float32', async () => {
    const build = (opset: number): Model => {
      const model = newModel(opset);
      const g = model.graph;
      const x = g.addInput('x', { elemType: DType.FLOAT, shape: [2, 4] });
      const r = g.addNode({ opType: 'Round', inputs: [x] }).output(0);
      g.outputs.push(g.addNode({ opType: 'MatMul', inputs: [r, randomWeight(model, 'w', [4, 4])], outputs: ['y'] }).output(0));
      return model;
    };
    const { after: old } = await convert(build(17), { dtype: 'bfloat16' });
    assert.equal(typeOf(old, only(old, 'Round')), DType.FLOAT);
    assert.equal(typeOf(old, only(old, 'MatMul')), DType.BFLOAT16);
    const { after: recent } = await convert(build(22), { dtype: 'bfloat16' });
    assert.equal(typeOf(recent, only(recent, 'Round')), DType.BFLOAT16);
  });
});

describe('convert-float16 on the real exports', { skip: skipWithoutShared }, () => {
  const ids = () => readNpy(sharedFile('eval_ids.npy'));
  const saved = (model: Model, name: string): { model: Model; bytes: number } => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-fp16-'));
    const file = path.join(dir, `${name}.onnx`);
    saveModel(model, file);
    return { model: loadModel(file), bytes: fs.statSync(file).size };
  };

  for (const name of ['llama-tiny', 'gpt2-tiny']) {
    it(`${name} float16: perplexity within 0.001 of float32 in onnxruntime and rounded node by node, half the size`, async () => {
      const model = loadModel(sharedFile(`${name}.onnx`));
      const { after } = await convert(model);
      const { model: reread, bytes } = saved(after, name);
      const before = (await evaluatePerplexity(model, ids())).perplexity;
      const q = (await evaluatePerplexity(reread, ids())).perplexity;
      assert.ok(Math.abs(q - before) <= 0.001, `perplexity ${q} vs ${before}`);
      assert.ok(bytes <= 0.52 * fs.statSync(sharedFile(`${name}.onnx`)).size, `size ${bytes}`);
      assert.equal(await loadError(reread), '', 'loads with graph optimizations off');
      const rounded = (await evaluatePerplexity(emulate(reread, DType.FLOAT16), ids(), EMULATED)).perplexity;
      assert.ok(Math.abs(rounded - before) <= 0.001, `with every node rounded to float16: perplexity ${rounded} vs ${before}`);
    });
  }

  it('bert-tiny float16: masked-LM accuracy within 0.002 of float32', async () => {
    const model = loadModel(sharedFile('bert-tiny.onnx'));
    const { after } = await convert(model);
    const inputs = readNpy(sharedFile('mlm_eval_inputs.npy'));
    const labels = readNpy(sharedFile('mlm_eval_labels.npy'));
    const before = await evaluateMaskedLm(model, inputs, labels);
    const q = await evaluateMaskedLm(saved(after, 'bert-tiny').model, inputs, labels);
    assert.ok(Math.abs(q.accuracy - before.accuracy) <= 0.002, `accuracy ${q.accuracy} vs ${before.accuracy}`);
  });

  it('llama-tiny bfloat16: type-correct, and within 0.005 perplexity with every node rounded to bfloat16', async () => {
    const model = loadModel(sharedFile('llama-tiny.onnx'));
    const { after } = await convert(model, { dtype: 'bfloat16' });
    const { model: reread } = saved(after, 'llama-bf16');
    const error = await loadError(reread);
    assert.match(error, /Could not find an implementation/);
    assert.doesNotMatch(error, /Type Error|invalid model/i);
    const before = (await evaluatePerplexity(model, ids())).perplexity;
    const q = (await evaluatePerplexity(emulate(reread, DType.BFLOAT16), ids(), EMULATED)).perplexity;
    assert.ok(Math.abs(q - before) <= 0.005, `perplexity ${q} vs ${before}`);
  });
});
