import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import quantizeStatic from '../../../passes/quantize/quantize-static.js';
import { cloneModel, opTypes } from '../../helpers/model.js';
import { newModel, randomWeight } from '../../helpers/tiny.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { quietContext, type PassContext, type PassResult, type Target } from '../../../src/pipeline/pass.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { runModel, type OptimizationLevel } from '../../../src/runtime/session.js';
import type { Feeds } from '../../../src/runtime/tensors.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';
import { PreconditionError } from '../../../src/errors.js';
import { selectLayers } from '../../../passes/quantize/static/select.js';
import { channelMaxima } from '../../../passes/quantize/static/observe.js';
import { smoothGroup } from '../../../passes/quantize/static/smooth-quant.js';
import { loadModel } from '../../../src/io/load.js';
import { modelToBytes } from '../../../src/io/save.js';
import { readNpy } from '../../../src/runtime/npy.js';
import { batchFeeds, readDataset } from '../../../src/data/dataset.js';
import { evaluateMaskedLm, evaluatePerplexity } from '../../../src/eval/evaluate.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';

const H = 32;
const SEQ = 8;
const int = (value: number) => ({ type: 'int' as const, value });
const ints = (value: number[]) => ({ type: 'ints' as const, value });
const constant = (model: Model, hint: string, dims: number[], data: Float32Array | BigInt64Array) =>
  model.graph.addConstant(hint, Tensor.fromTyped(hint, data instanceof BigInt64Array ? DType.INT64 : DType.FLOAT, dims, data));

/**
 * One transformer-like block, x[batch, 8, 32] -> logits[batch, 8, 16]:
 *   LayerNormalization -> q/k/v MatMul -> q·kᵀ MatMul -> ·1/√d -> Softmax -> ·v MatMul -> o MatMul -> + x
 *   -> decomposed RMSNorm (…·γ) -> Reshape[-1, 32] -> Gemm(transB, bias) -> Relu -> MatMul -> Reshape -> + residual
 *   -> head MatMul
 * Linear layers: q, k, v, o, fc1 (Gemm), fc2, head. q·kᵀ and ·v multiply two activations.
 */
function block(): Model {
  const model = newModel();
  const g = model.graph;
  const op = (opType: string, inputs: (Value | null)[], name?: string, attributes?: Record<string, ReturnType<typeof int> | ReturnType<typeof ints>>) =>
    g.addNode({ opType, inputs, ...(name ? { name } : {}), ...(attributes ? { attributes } : {}) }).output(0);
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', SEQ, H] });
  const ln = op('LayerNormalization', [x, constant(model, 'ln_g', [H], Float32Array.from({ length: H }, (_, i) => 0.5 + (i % 5) / 4)), randomWeight(model, 'ln_b', [H], 2)], 'ln', { axis: int(-1) });
  const q = op('MatMul', [ln, randomWeight(model, 'wq', [H, H], 3)], 'q');
  const k = op('MatMul', [ln, randomWeight(model, 'wk', [H, H], 4)], 'k');
  const v = op('MatMul', [ln, randomWeight(model, 'wv', [H, H], 5)], 'v');
  const scores = op('MatMul', [q, op('Transpose', [k], 'kt', { perm: ints([0, 2, 1]) })], 'scores');
  const scaled = op('Mul', [scores, constant(model, 'inv_sqrt_d', [], Float32Array.of(1 / Math.sqrt(H)))], 'scale_scores');
  const attn = op('MatMul', [op('Softmax', [scaled], 'softmax', { axis: int(-1) }), v], 'context');
  const h = op('Add', [x, op('MatMul', [attn, randomWeight(model, 'wo', [H, H], 6)], 'o')], 'residual1');
  const mean = op('ReduceMean', [op('Mul', [h, h], 'square')], 'mean', { axes: ints([-1]), keepdims: int(1) });
  const rms = op('Sqrt', [op('Add', [mean, constant(model, 'eps', [], Float32Array.of(1e-6))], 'eps_add')], 'rms');
  const normed = op('Mul', [op('Div', [h, rms], 'div'), constant(model, 'rms_g', [H], Float32Array.from({ length: H }, (_, i) => 1 + (i % 3)))], 'rms_scale');
  const flat = op('Reshape', [normed, constant(model, 'flat_shape', [2], BigInt64Array.of(-1n, BigInt(H)))], 'flatten');
  const up = op('Gemm', [flat, randomWeight(model, 'w1', [2 * H, H], 7), randomWeight(model, 'b1', [2 * H], 8)], 'fc1', { transB: int(1) });
  const down = op('MatMul', [op('Relu', [up], 'relu'), randomWeight(model, 'w2', [2 * H, H], 9)], 'fc2');
  const back = op('Reshape', [down, constant(model, 'back_shape', [3], BigInt64Array.of(-1n, BigInt(SEQ), BigInt(H)))], 'unflatten');
  const out = op('Add', [h, back], 'residual2');
  const logits = g.addNode({ opType: 'MatMul', name: 'head', inputs: [out, randomWeight(model, 'wh', [H, 16], 10)], outputs: ['logits'] }).output(0);
  logits.type = { elemType: DType.FLOAT, shape: ['batch', SEQ, 16] };
  g.outputs.push(logits);
  return model;
}

/** x → MatMul(W1) → y1 and x → Reshape → Gemm(W2ᵀ, b, alpha 0.5, beta 2) → y2: two layers whose outputs no later quantizer rounds. */
function parallel(): Model {
  const model = newModel();
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', SEQ, H] });
  const y1 = g.addNode({ opType: 'MatMul', name: 'mm', inputs: [x, randomWeight(model, 'w1', [H, 48], 11)], outputs: ['y1'] }).output(0);
  const flat = g.addNode({ opType: 'Reshape', inputs: [x, constant(model, 'shape', [2], BigInt64Array.of(-1n, BigInt(H)))] }).output(0);
  const y2 = g.addNode({ opType: 'Gemm', name: 'gemm', inputs: [flat, randomWeight(model, 'w2', [48, H], 12), randomWeight(model, 'b2', [48], 13)], outputs: ['y2'], attributes: { transB: int(1), alpha: { type: 'float', value: 0.5 }, beta: { type: 'float', value: 2 } } }).output(0);
  g.outputs.push(y1, y2);
  return model;
}

/** Gaussian rows; channel 3 scaled by `outlier` (20: an outlier channel, the case SmoothQuant is for). */
function blockData(rows: number, seed: number, outlier = 1): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: rows * SEQ * H }, (_, i) => {
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return i % H === 3 ? outlier * z : z;
  });
}

const dataset = (data: Float32Array): Dataset => ({ arrays: new Map([['x', { dtype: DType.FLOAT, dims: [data.length / (SEQ * H), SEQ, H], data }]]), rows: data.length / (SEQ * H), source: 'test data' });
const calibration = dataset(blockData(16, 1));
const outlierCalibration = dataset(blockData(16, 1, 20));
const feeds: Feeds = { x: { dtype: DType.FLOAT, dims: [4, SEQ, H], data: blockData(4, 2) } };
const outlierFeeds: Feeds = { x: { dtype: DType.FLOAT, dims: [4, SEQ, H], data: blockData(4, 2, 20) } };

async function quantize(model: Model, options: Record<string, unknown> = {}, ctx: Partial<PassContext> = {}): Promise<{ after: Model; result: PassResult; warnings: string[] }> {
  const after = cloneModel(model);
  const warnings: string[] = [];
  const result = await quantizeStatic.run(after, quantizeStatic.options.parse(options), quietContext({ calibration, warn: (m) => warnings.push(m), ...ctx }));
  verifyModel(after, quantizeStatic.name);
  return { after, result, warnings };
}

async function logits(model: Model, optimization: OptimizationLevel = 'all', inputs = feeds): Promise<Float32Array> {
  return (await runModel(model, inputs, { optimization })).logits!.data as Float32Array;
}

/** The integer operators in onnxruntime's optimized graph (default level 'all'), sorted. */
async function fusedIntegerOps(model: Model): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-static-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(modelToBytes(model), { graphOptimizationLevel: 'all', optimizedModelFilePath: file, logSeverityLevel: 3 });
    await session.release();
    return loadModel(file).graph.nodes.map((n) => `${n.domain}.${n.opType}`).filter((o) => /Integer|QGemm|QLinear/.test(o)).sort();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every output of the parallel model, concatenated. */
async function outputs(model: Model, optimization: OptimizationLevel = 'all'): Promise<Float32Array> {
  const out = await runModel(model, feeds, { optimization });
  const a = out.y1!.data as Float32Array, b = out.y2!.data as Float32Array;
  const all = new Float32Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}

/** ‖a − b‖ / ‖a‖: the error of an output relative to its size. */
function normError(a: Float32Array, b: Float32Array): number {
  let signal = 0, noise = 0;
  for (let i = 0; i < a.length; i++) {
    signal += a[i]! * a[i]!;
    noise += (a[i]! - b[i]!) ** 2;
  }
  return Math.sqrt(noise / signal);
}

/** max |a − b| / max |a|: the largest deviation relative to the output's scale. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let peak = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    peak = Math.max(peak, Math.abs(a[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / peak;
}

const node = (model: Model, name: string): Node => model.graph.nodes.find((n) => n.name === name)!;
const producer = (n: Node, i: number): string | undefined => n.inputs[i]?.producer?.opType;

describe('quantize-static (QDQ)', () => {
  it('quantizes the inputs and weights of linear layers only, close to the float model', async () => {
    const model = block();
    const { after, result } = await quantize(model);
    assert.equal(result.stats.layersQuantized, 6);
    assert.equal(result.stats.activationsQuantized, 4, 'q/k/v share one quantized input');
    for (const name of ['q', 'k', 'v', 'o', 'fc1', 'fc2']) {
      const n = node(after, name);
      assert.equal(producer(n, 0), 'DequantizeLinear', `${name} reads a dequantized activation`);
      assert.equal(producer(n, 1), 'DequantizeLinear', `${name} reads a dequantized weight`);
    }
    // On cpu the Gemm bias is int32 at scale sx·sw: the form onnxruntime fuses into QGemm.
    const bias = node(after, 'fc1').inputs[2]!.producer!;
    assert.equal(bias.opType, 'DequantizeLinear');
    assert.equal(bias.inputs[0]!.initializer!.dtype, DType.INT32);
    assert.equal(result.stats.biasesQuantized, 1);
    for (const name of ['scores', 'context']) {
      const n = node(after, name);
      assert.ok(producer(n, 0) !== 'DequantizeLinear' && producer(n, 1) !== 'DequantizeLinear', `${name} (activation × activation) stays float`);
    }
    assert.ok(node(after, 'head').inputs[1]?.initializer, 'the output head keeps its float weight');
    assert.equal(opTypes(after).filter((o) => o === 'QuantizeLinear').length, 4);
    assert.equal(node(after, 'scale_scores').inputs[0]?.producer?.name, 'scores', 'the scores stay float');
    assert.equal(after.graph.lookup('wq'), undefined, 'the float weight is gone');
    const error = normError(await logits(model), await logits(after));
    assert.ok(error < 0.05, `relative error ${error}`);
  });

  it('picks on cpu a weight form that onnxruntime\'s integer kernels compute exactly (same outputs with fusions on and off)', async () => {
    // On AVX2 CPUs without VNNI, u8 activations × full-range s8 weights saturate inside the fused kernel.
    const model = parallel();
    for (const activationSymmetric of [false, true]) {
      const { after, result } = await quantize(model, { activationSymmetric, perChannel: true, quantizeHead: true });
      assert.equal(result.stats.layersQuantized, 2);
      const weights = after.graph.initializers.map((v) => v.initializer!).filter((t) => t.dims.length === 2);
      assert.equal(weights.length, 2);
      for (const t of weights) {
        const codes = t.toTyped() as Int8Array | Uint8Array;
        // u8 weights beside u8 activations; 7-bit s8 weights beside s8 activations.
        if (activationSymmetric) assert.ok(t.dtype === DType.INT8 && codes.every((c) => c >= -64 && c <= 63), `${t.name} is 7-bit s8`);
        else assert.equal(t.dtype, DType.UINT8, `${t.name} is u8`);
      }
      assert.deepEqual(await fusedIntegerOps(after), ['com.microsoft.MatMulIntegerToFloat', 'com.microsoft.QGemm'], 'onnxruntime runs integer kernels');
      const error = relativeError(await outputs(after, 'disabled'), await outputs(after, 'all'));
      assert.ok(error < 1e-5, `activations ${activationSymmetric ? 's8' : 'u8'}: fused vs unfused relative error ${error}`);
      const vsFloat = normError(await outputs(model), await outputs(after));
      assert.ok(vsFloat < 0.03, `vs float: ${vsFloat}`);
    }
  });

  it('per-channel weights: one scale per output column, axis 1 for MatMul and 0 for the transposed Gemm weight', async () => {
    const { after } = await quantize(block(), { perChannel: true });
    const dq = (name: string, input = 1) => node(after, name).inputs[input]!.producer!;
    assert.equal(dq('q').getInt('axis'), 1);
    assert.equal(dq('q').inputs[1]!.initializer!.dims.join(), String(H));
    assert.equal(dq('fc1').getInt('axis'), 0);
    assert.equal(dq('fc1').inputs[1]!.initializer!.dims.join(), String(2 * H));
    assert.equal(dq('fc1', 2).inputs[1]!.initializer!.dims.join(), String(2 * H), 'one bias scale per column too');
    assert.ok(normError(await logits(block()), await logits(after)) < 0.05);
  });

  it('tensorrt: symmetric s8 activations and weights with zero points 0, float bias', async () => {
    const { after, warnings, result } = await quantize(block(), {}, { target: 'tensorrt' as Target });
    assert.deepEqual(warnings, []);
    assert.equal(result.stats.biasesQuantized, 0);
    assert.ok(node(after, 'fc1').inputs[2]!.initializer, 'TensorRT rejects quantized biases');
    for (const n of after.graph.nodes.filter((x) => x.opType === 'QuantizeLinear' || x.opType === 'DequantizeLinear')) {
      const zp = n.inputs[2]!.initializer!;
      assert.ok(zp, `${n.name} has a zero point`);
      assert.equal(zp.dtype, DType.INT8, `${n.name} is int8`);
      assert.ok((zp.toTyped() as Int8Array).every((z) => z === 0), `${n.name} has zero point 0`);
    }
  });

  it('the three calibration methods all quantize the block within tolerance', async () => {
    const reference = await logits(block());
    for (const method of ['minmax', 'percentile', 'entropy'] as const) {
      const { after, result } = await quantize(block(), { method });
      assert.equal(result.stats.layersQuantized, 6);
      const error = normError(reference, await logits(after));
      assert.ok(error < 0.1, `${method}: relative error ${error}`);
    }
  });

  it('exclude by node name, /regex/ and op type; quantizeHead takes the head too', async () => {
    const { after, result } = await quantize(block(), { exclude: ['q', '/^(k|v)$/', 'Gemm'] });
    assert.equal(result.stats.layersQuantized, 2);
    for (const name of ['q', 'k', 'v', 'fc1']) assert.ok(node(after, name).inputs[1]?.initializer?.dtype === DType.FLOAT, `${name} stays float`);
    const head = await quantize(block(), { quantizeHead: true });
    assert.equal(head.result.stats.layersQuantized, 7);
    assert.equal(producer(node(head.after, 'head'), 1), 'DequantizeLinear');
  });

  it('changes nothing on a second run, and warns', async () => {
    const { after } = await quantize(block());
    const again = await quantize(after);
    assert.equal(again.result.modified, false);
    assert.match(again.warnings.join(), /quantized already/);
    assert.equal(opTypes(again.after).join(), opTypes(after).join());
  });

  it('warns and leaves a model without linear layers alone', async () => {
    const model = newModel();
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: ['batch', SEQ, H] });
    const y = model.graph.addNode({ opType: 'Softmax', inputs: [x], outputs: ['logits'] }).output(0);
    model.graph.outputs.push(y);
    const { result, warnings } = await quantize(model);
    assert.equal(result.modified, false);
    assert.match(warnings.join(), /no MatMul\/Gemm/);
  });

  it('refuses to run without calibration data', async () => {
    await assert.rejects(
      Promise.resolve().then(() => quantizeStatic.run(block(), quantizeStatic.options.parse({}), quietContext())),
      (err: Error) => err instanceof PreconditionError && /calibration data/.test(err.message),
    );
  });

  it('quantizes a layer whose input is all zeros (degenerate range)', async () => {
    const model = block();
    const zeros: Dataset = { ...calibration, arrays: new Map([['x', { dtype: DType.FLOAT, dims: [16, SEQ, H], data: new Float32Array(16 * SEQ * H) }]]) };
    for (const method of ['minmax', 'percentile', 'entropy'] as const) {
      const { after, result } = await quantize(model, { method }, { calibration: zeros });
      assert.equal(result.stats.layersQuantized, 6);
      for (const n of after.graph.nodes.filter((x) => x.opType === 'QuantizeLinear')) {
        const scale = n.inputs[1]!.initializer!.toFloat32()[0]!;
        assert.ok(scale > 0 && Number.isFinite(scale), `${method}: scale ${scale}`);
      }
      const out = await logits(after);
      assert.ok(out.every(Number.isFinite));
    }
  });
});

describe('quantize-static (QOperator)', () => {
  it('MatMulInteger with rescaling computes what the QDQ form computes', async () => {
    for (const perChannel of [false, true]) {
      const { after } = await quantize(parallel(), { format: 'qoperator', perChannel, quantizeHead: true });
      assert.deepEqual(opTypes(after).filter((o) => o === 'MatMulInteger' || o === 'DequantizeLinear'), ['MatMulInteger', 'MatMulInteger']);
      const qdq = await quantize(parallel(), { perChannel, quantizeHead: true });
      const error = relativeError(await outputs(qdq.after, 'disabled'), await outputs(after));
      assert.ok(error < 1e-5, `QOperator vs QDQ relative error ${error}`);
    }
  });

  it('quantizes the block: MatMulInteger per layer, one QuantizeLinear per activation, close to float', async () => {
    const { after, result } = await quantize(block(), { format: 'qoperator' });
    assert.equal(result.stats.layersQuantized, 6);
    const ops = opTypes(after);
    assert.equal(ops.filter((o) => o === 'MatMulInteger').length, 6);
    assert.equal(ops.filter((o) => o === 'QuantizeLinear').length, 4);
    assert.ok(after.graph.lookup('logits')?.isGraphOutput);
    const error = normError(await logits(block()), await logits(after));
    assert.ok(error < 0.05, `relative error ${error}`);
  });
});

describe('quantize-static SmoothQuant', () => {
  it('smoothing alone keeps the outputs (1e-4 relative), folding 1/s into norms and sharing s across q/k/v', async () => {
    const before = block();
    const model = cloneModel(before);
    const { groups } = selectLayers(model, { exclude: [], quantizeHead: false }, () => {});
    const maxima = await channelMaxima(model, outlierCalibration, groups.map((g) => g.input.name), () => {});
    const wq = model.graph.lookup('wq')!.initializer!.toFloat32();
    const wk = model.graph.lookup('wk')!.initializer!.toFloat32();
    const outcomes = new Map(groups.map((g) => [g.layers.map((l) => l.node.name).join('+'), smoothGroup(model, g, maxima.get(g.input.name)!, 0.5)]));
    verifyModel(model, 'smooth');
    assert.deepEqual(Object.fromEntries(outcomes), { 'q+k+v': 'folded', o: 'inserted', fc1: 'folded', fc2: 'inserted' });
    assert.ok(node(model, 'ln').inputs[1] !== before.graph.lookup('ln_g') && node(model, 'rms_scale').inputs[1]?.name !== 'rms_g', 'the norm scales were replaced');
    const sq = node(model, 'q').inputs[1]!.initializer!.toFloat32();
    const sk = node(model, 'k').inputs[1]!.initializer!.toFloat32();
    for (let j = 0; j < H; j++) {
      const ratioQ = sq[j * H]! / wq[j * H]!;
      const ratioK = sk[j * H]! / wk[j * H]!;
      assert.ok(Math.abs(ratioQ - ratioK) <= 1e-5 * Math.abs(ratioQ), `channel ${j}: q and k share s`);
    }
    const s3 = sq[3 * H]! / wq[3 * H]!;
    assert.ok(s3 > 1, `the outlier channel moves into the weights (s = ${s3})`);
    const error = relativeError(await logits(before, 'all', outlierFeeds), await logits(model, 'all', outlierFeeds));
    assert.ok(error < 1e-4, `smoothing alone: relative error ${error}`);
  });

  it('with quantization: folds where it can, inserts a Mul elsewhere, and is not worse on outlier data', async () => {
    const reference = await logits(block(), 'all', outlierFeeds);
    const plain = await quantize(block(), { method: 'minmax' }, { calibration: outlierCalibration });
    const smoothed = await quantize(block(), { method: 'minmax', smoothAlpha: 0.5 }, { calibration: outlierCalibration });
    assert.equal(smoothed.result.stats.smoothFolded, 2);
    assert.equal(smoothed.result.stats.smoothInserted, 2);
    const ePlain = normError(reference, await logits(plain.after, 'all', outlierFeeds));
    const eSmooth = normError(reference, await logits(smoothed.after, 'all', outlierFeeds));
    assert.ok(eSmooth <= ePlain, `smoothed ${eSmooth} vs plain ${ePlain}`);
  });
});

describe('quantize-static on the real exports', { skip: skipWithoutShared }, () => {
  const rows = (data: Dataset, n: number): Dataset => ({ ...data, rows: Math.min(n, data.rows) });

  /** Quality of the float model and of each calibration method's output, evaluated with onnxruntime's default optimizations. */
  async function methods(name: string, quality: (m: Model) => Promise<number>): Promise<{ fp32: number; byMethod: Record<string, number> }> {
    const model = loadModel(sharedFile(`${name}.onnx`));
    const data = rows(readDataset(sharedFile('calib_ids.npy'), model), 16);
    const byMethod: Record<string, number> = {};
    for (const method of ['minmax', 'percentile', 'entropy'] as const) {
      const after = cloneModel(model);
      const result = await quantizeStatic.run(after, quantizeStatic.options.parse({ method }), quietContext({ calibration: data }));
      assert.ok(Number(result.stats.layersQuantized) > 0, `${method}: layers quantized`);
      byMethod[method] = await quality(after);
    }
    return { fp32: await quality(model), byMethod };
  }
  const perplexity = async (m: Model) => (await evaluatePerplexity(m, readNpy(sharedFile('eval_ids.npy')))).perplexity;
  const accuracy = async (m: Model) => (await evaluateMaskedLm(m, readNpy(sharedFile('mlm_eval_inputs.npy')), readNpy(sharedFile('mlm_eval_labels.npy')))).accuracy;

  it('llama-tiny: perplexity <= 3.33 with the default (percentile); minmax and entropy within 10 %', async (t) => {
    const { fp32, byMethod } = await methods('llama-tiny', perplexity);
    t.diagnostic(`llama-tiny fp32 ${fp32.toFixed(4)}, ${JSON.stringify(byMethod)}`);
    assert.ok(byMethod.percentile! <= 3.33, `percentile: ${byMethod.percentile}`);
    for (const [method, ppl] of Object.entries(byMethod)) assert.ok(ppl <= fp32 * 1.1, `${method}: ${ppl}`);
  });

  it('gpt2-tiny (Gemm layers): perplexity <= 2.67 with the default; minmax and entropy within 10 %', async (t) => {
    const { fp32, byMethod } = await methods('gpt2-tiny', perplexity);
    t.diagnostic(`gpt2-tiny fp32 ${fp32.toFixed(4)}, ${JSON.stringify(byMethod)}`);
    assert.ok(byMethod.percentile! <= 2.67, `percentile: ${byMethod.percentile}`);
    for (const [method, ppl] of Object.entries(byMethod)) assert.ok(ppl <= fp32 * 1.1, `${method}: ${ppl}`);
  });

  it('bert-tiny: MLM accuracy >= 0.82 with the default; minmax and entropy within 5 %', async (t) => {
    const { fp32, byMethod } = await methods('bert-tiny', accuracy);
    t.diagnostic(`bert-tiny fp32 ${fp32.toFixed(4)}, ${JSON.stringify(byMethod)}`);
    assert.ok(byMethod.percentile! >= 0.82, `percentile: ${byMethod.percentile}`);
    for (const [method, acc] of Object.entries(byMethod)) assert.ok(acc >= fp32 * 0.95, `${method}: ${acc}`);
  });

  it('llama-tiny: SmoothQuant alone keeps the logits (1e-4 relative)', async () => {
    const before = loadModel(sharedFile('llama-tiny.onnx'));
    const model = cloneModel(before);
    const data = rows(readDataset(sharedFile('calib_ids.npy'), model), 8);
    const { groups } = selectLayers(model, { exclude: [], quantizeHead: true }, () => {});
    const maxima = await channelMaxima(model, data, groups.map((g) => g.input.name), () => {});
    const outcomes = groups.map((g) => smoothGroup(model, g, maxima.get(g.input.name)!, 0.5));
    assert.ok(outcomes.filter((o) => o === 'folded').length >= 9, `RMSNorm scales absorb 1/s: ${outcomes.join()}`);
    verifyModel(model, 'smooth');
    const inputs = batchFeeds(data, before, 0, 2);
    const a = (await runModel(before, inputs)).logits!.data as Float32Array;
    const b = (await runModel(model, inputs)).logits!.data as Float32Array;
    const error = relativeError(a, b);
    assert.ok(error < 1e-4, `relative error ${error}`);
  });
});
