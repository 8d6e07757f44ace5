import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import quantizeDynamic from '../../../passes/quantize/quantize-dynamic.js';
import { cloneModel, opTypes } from '../../helpers/model.js';
import { newModel, randomWeight } from '../../helpers/tiny.js';
import { runCli } from '../../helpers/cli.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import type { Model } from '../../../src/ir/model.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { quietContext, type PassResult, type Target } from '../../../src/pipeline/pass.js';
import { runModel } from '../../../src/runtime/session.js';
import { mulberry32 } from '../../../src/runtime/feeds.js';
import { dequantizeInt8, quantizeInt8, type Int8Scheme } from '../../../src/math/int8.js';
import { loadModel } from '../../../src/io/load.js';
import { saveModel } from '../../../src/io/save.js';
import { readNpy } from '../../../src/runtime/npy.js';
import { evaluateMaskedLm, evaluatePerplexity } from '../../../src/eval/evaluate.js';

type Options = z.input<typeof quantizeDynamic.options>;

/** Runs the pass on a copy for a target, collecting warnings; verifies the IR. */
function quantize(model: Model, options: Options = {}, target: Target = 'cpu'): { after: Model; result: PassResult; warnings: string[] } {
  const after = cloneModel(model);
  const warnings: string[] = [];
  const result = quantizeDynamic.run(after, quantizeDynamic.options.parse(options), quietContext({ target, warn: (m) => warnings.push(m) })) as PassResult;
  verifyModel(after, quantizeDynamic.name);
  return { after, result, warnings };
}

interface Layer { readonly kind: 'matmul' | 'gemm'; readonly k: number; readonly n: number; readonly alpha: number; readonly beta: number }
const MATMUL: Layer = { kind: 'matmul', k: 64, n: 32, alpha: 1, beta: 1 };
/** Gemm with transB=1 [N, K] weights, alpha and beta, and a bias: the form GPT-2 style exports use. */
const GEMM: Layer = { kind: 'gemm', k: 48, n: 24, alpha: 0.5, beta: 2 };

function linearModel(l: Layer, weights?: Float32Array): Model {
  const model = newModel();
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['rows', l.k] });
  const dims = l.kind === 'gemm' ? [l.n, l.k] : [l.k, l.n];
  const w = weights ? g.addConstant('w', Tensor.fromTyped('w', DType.FLOAT, dims, weights)) : randomWeight(model, 'w', dims, 1);
  const y = l.kind === 'matmul'
    ? g.addNode({ opType: 'MatMul', name: 'proj', inputs: [x, w], outputs: ['y'] }).output(0)
    : g.addNode({
      opType: 'Gemm', name: 'proj', inputs: [x, w, randomWeight(model, 'bias', [l.n], 2)], outputs: ['y'],
      attributes: { transB: { type: 'int', value: 1 }, alpha: { type: 'float', value: l.alpha }, beta: { type: 'float', value: l.beta } },
    }).output(0);
  g.outputs.push(y);
  return model;
}

function gaussianRows(rows: number, k: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  // Rows of different magnitude: per-row activation scales must matter.
  return Float32Array.from({ length: rows * k }, (_, i) => (rand() - 0.5) * 4 * (1 + Math.floor(i / k)));
}

async function run(model: Model, x: Float32Array, k: number): Promise<Float32Array> {
  const out = await runModel(model, { x: { dtype: DType.FLOAT, dims: [x.length / k, k], data: x } });
  return out.y!.data as Float32Array;
}

/** ONNX Round and the CPU quantizers round halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Activations as the int8 kernel sees them: DynamicQuantizeLinear (u8, one scale for the tensor) or per-row
 * symmetric codes around 128. Returns the dequantized values and each row's step.
 */
function dynamicActivations(x: Float32Array, k: number, mode: 'tensor' | 'row'): { xq: Float64Array; step: Float64Array } {
  const rows = x.length / k;
  const xq = new Float64Array(x.length);
  const step = new Float64Array(rows);
  let lo = 0, hi = 0;
  for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  for (let r = 0; r < rows; r++) {
    let scale: number, zp: number;
    if (mode === 'tensor') {
      scale = hi === lo ? 1 : Math.fround((hi - lo) / 255);
      zp = roundHalfEven(Math.min(255, Math.max(0, Math.fround(-lo / scale))));
    } else {
      let peak = 0;
      for (let i = 0; i < k; i++) peak = Math.max(peak, Math.abs(x[r * k + i]!));
      scale = Math.fround(Math.max(peak, Math.fround(1e-30)) / 127);
      zp = 128;
    }
    step[r] = scale;
    for (let i = 0; i < k; i++) {
      const q = Math.min(255, Math.max(0, roundHalfEven(Math.fround(x[r * k + i]! / scale)) + zp));
      xq[r * k + i] = (q - zp) * scale;
    }
  }
  return { xq, step };
}

/**
 * y = alpha * dequant(x) @ dequant(W) + beta * bias, from the same weight codes the pass computes, plus a
 * bound on |y - y_float| from the activation steps and the weights' actual rounding (or clipping) errors:
 * |x||dw| + |W||dX|/2 + |dw|dX/2 summed over K.
 */
function reference(model: Model, l: Layer, x: Float32Array, scheme: Int8Scheme, perChannel: boolean, mode: 'tensor' | 'row', searchScale = true): { y: Float64Array; bound: Float64Array } {
  const t = model.graph.lookup('w')!.initializer!;
  const w = t.toFloat32();
  const [rows, cols] = t.dims as [number, number];
  const q = quantizeInt8(w, rows, cols, scheme, !perChannel ? 'tensor' : l.kind === 'gemm' ? 'row' : 'column', { searchScale });
  const wq = dequantizeInt8(q);
  const at = (kk: number, nn: number) => (l.kind === 'gemm' ? nn * l.k + kk : kk * l.n + nn);
  const bias = l.kind === 'gemm' ? model.graph.lookup('bias')!.initializer!.toFloat32() : undefined;
  const { xq, step } = dynamicActivations(x, l.k, mode);
  const m = x.length / l.k;
  const y = new Float64Array(m * l.n);
  const bound = new Float64Array(m * l.n);
  for (let r = 0; r < m; r++) {
    for (let nn = 0; nn < l.n; nn++) {
      let acc = 0, err = 0;
      const dx = step[r]!;
      for (let kk = 0; kk < l.k; kk++) {
        const dw = Math.abs(wq[at(kk, nn)]! - w[at(kk, nn)]!);
        acc += xq[r * l.k + kk]! * wq[at(kk, nn)]!;
        err += Math.abs(x[r * l.k + kk]!) * dw + (Math.abs(w[at(kk, nn)]!) * dx + dx * dw) / 2;
      }
      y[r * l.n + nn] = l.alpha * acc + (bias ? l.beta * bias[nn]! : 0);
      bound[r * l.n + nn] = l.alpha * err;
    }
  }
  return { y, bound };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function maxAbs(a: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]!));
  return d;
}

/** The integer weight matrix of a quantized one-layer model. */
function weightCodes(model: Model): Tensor {
  const codes = model.graph.initializers.find((v) => v.initializer!.dims.length === 2 && [DType.INT8, DType.UINT8].includes(v.initializer!.dtype as 2 | 3));
  return codes!.initializer!;
}

const forms = [
  { format: 'qoperator', activations: 'tensor', ops: ['com.microsoft.DynamicQuantizeMatMul'] },
  { format: 'qoperator', activations: 'row', ops: ['com.microsoft.MatMulIntegerToFloat'] },
  { format: 'qdq', activations: 'tensor', ops: ['DynamicQuantizeLinear', 'DequantizeLinear'] },
] as const;

describe('quantize-dynamic on small graphs', () => {
  for (const layer of [MATMUL, GEMM]) {
    for (const form of forms) {
      for (const perChannel of [false, true]) {
        for (const weightType of ['s8', 's8-reduced', 'u8'] as const) {
          const label = `${layer.kind}, ${form.format} with ${form.activations} activations, ${perChannel ? 'per channel' : 'per tensor'}, ${weightType}`;
          it(`${label}: runs the dequantized product exactly, within the quantization bound of float`, async () => {
            const model = linearModel(layer);
            const { after, result } = quantize(model, { format: form.format, activations: form.activations, perChannel, weightType });
            assert.equal(result.stats.layersQuantized, 1);
            for (const op of form.ops) assert.ok(opTypes(after).includes(op), `${op} in ${opTypes(after).join(', ')}`);
            assert.equal(after.graph.lookup('w'), undefined, 'the float weight is gone');
            const x = gaussianRows(6, layer.k, 7);
            const y = await run(after, x, layer.k);
            const ref = reference(model, layer, x, weightType, perChannel, form.activations);
            // Exact: the integer kernel's float epilogue is the only rounding.
            assert.ok(maxAbsDiff(y, ref.y) <= 2e-6 * maxAbs(ref.y), `vs exact reference: ${maxAbsDiff(y, ref.y)} (outputs up to ${maxAbs(ref.y)})`);
            const yFloat = await run(model, x, layer.k);
            for (let i = 0; i < y.length; i++) {
              const d = Math.abs(y[i]! - yFloat[i]!);
              assert.ok(d <= ref.bound[i]! + 1e-5 * Math.abs(yFloat[i]!), `element ${i}: ${d} over the bound ${ref.bound[i]}`);
            }
            assert.equal(quantize(after, { format: form.format, activations: form.activations, perChannel, weightType }).result.modified, false);
          });
        }
      }
    }
  }

  it('never picks full-range s8 weights on cpu/cuda, and the default form is exact where u8 x s8 pairs would saturate int16', async () => {
    // Every activation code 255 times weight codes of one sign: a full-range s8 pair sums to 2*255*127 > 32767.
    const weights = Float32Array.from({ length: MATMUL.k * MATMUL.n }, (_, i) => (i % MATMUL.n < 16 ? 0.5 : -0.5));
    const model = linearModel(MATMUL, weights);
    const x = new Float32Array(4 * MATMUL.k).fill(1);
    for (const target of ['cpu', 'cuda'] as const) {
      for (const perChannel of [false, true]) {
        const { after, result, warnings } = quantize(model, { perChannel }, target);
        assert.equal(result.modified, true);
        assert.deepEqual(warnings, []);
        const codes = weightCodes(after);
        const peak = codes.dtype === DType.INT8 ? maxAbs(codes.toTyped() as Int8Array) : 0;
        assert.ok(codes.dtype === DType.UINT8 || peak <= 64, `${target}: weights ${codes.dtype === DType.INT8 ? `s8 up to ${peak}` : 'u8'}`);
        const ref = reference(model, MATMUL, x, codes.dtype === DType.UINT8 ? 'u8' : 's8-reduced', perChannel, 'row');
        const y = await run(after, x, MATMUL.k);
        assert.ok(maxAbsDiff(y, ref.y) <= 2e-6 * maxAbs(ref.y), `${target}: ${maxAbsDiff(y, ref.y)}`);
      }
    }
    assert.ok(quantize(model, { weightType: 's8' }, 'cpu').warnings.some((w) => /VNNI/.test(w)), 'explicit s8 on cpu is warned about');
  });

  it('picks the form from the target: integer kernels for cpu/cuda, symmetric QDQ for tensorrt/openvino', () => {
    const model = linearModel(GEMM);
    for (const [target, op] of [['cpu', 'MatMulIntegerToFloat'], ['cuda', 'MatMulIntegerToFloat'], ['tensorrt', 'DynamicQuantizeLinear'], ['openvino', 'DynamicQuantizeLinear']] as const) {
      const { after } = quantize(model, { perChannel: true }, target);
      assert.ok(after.graph.nodes.some((n) => n.opType === op), `${target} -> ${op}`);
      if (target === 'tensorrt') {
        const dq = after.graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.inputs[0]?.initializer);
        assert.equal(dq.length, 1);
        assert.equal(dq[0]!.inputs.length, 2, 'no zero point on the weight');
        assert.equal(dq[0]!.input(0).initializer!.dtype, DType.INT8);
      }
    }
    assert.throws(() => quantize(model, { format: 'qdq', activations: 'row' }), /qoperator/);
  });

  it('stores a weight read by two layers once, and quantizes a shared activation once', () => {
    const model = newModel();
    const g = model.graph;
    const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['rows', 16] });
    const w = randomWeight(model, 'w', [16, 16], 1);
    const a = g.addNode({ opType: 'MatMul', inputs: [x, w], outputs: ['a'] }).output(0);
    const b = g.addNode({ opType: 'MatMul', inputs: [x, w], outputs: ['b'] }).output(0);
    g.outputs.push(a, b);
    const { after } = quantize(model);
    assert.equal(after.graph.initializers.filter((v) => v.initializer!.dims.length === 2).length, 1);
    assert.equal(after.graph.nodes.filter((n) => n.opType === 'ReduceMax').length, 1);
  });

  it('leaves excluded layers and products of two activations in float', () => {
    const model = linearModel(MATMUL);
    const y = model.graph.outputs[0]!;
    const z = model.graph.addNode({ opType: 'MatMul', inputs: [y, model.graph.addNode({ opType: 'Transpose', inputs: [y] }).output(0)], outputs: ['z'] }).output(0);
    model.graph.outputs.push(z);
    const excluded = quantize(model, { exclude: ['proj'] });
    assert.equal(excluded.result.modified, false);
    assert.equal(opTypes(excluded.after).filter((o) => o === 'MatMul').length, 2);
    const { after, result } = quantize(model, {});
    assert.equal(result.stats.layersQuantized, 1);
    assert.equal(opTypes(after).filter((o) => o === 'MatMul').length, 1);
  });

  it('warns and changes nothing on a model with no float linear layer or an already quantized one', () => {
    const model = newModel();
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [2, 4] });
    model.graph.outputs.push(model.graph.addNode({ opType: 'Relu', inputs: [x], outputs: ['y'] }).output(0));
    const none = quantize(model);
    assert.equal(none.result.modified, false);
    assert.match(none.warnings.join('\n'), /no MatMul\/Gemm/);
    const once = quantize(linearModel(GEMM)).after;
    const twice = quantize(once);
    assert.equal(twice.result.modified, false);
    assert.match(twice.warnings.join('\n'), /already quantized/);
  });
});

/** ids[b, s] -> Gather(E[40, 16]) -> y */
function embeddingModel(): Model {
  const model = newModel();
  const g = model.graph;
  const ids = g.addInput('ids', { elemType: DType.INT64, shape: ['batch', 'sequence'] });
  g.outputs.push(g.addNode({ opType: 'Gather', name: 'embed', inputs: [randomWeight(model, 'table', [40, 16], 5), ids], outputs: ['y'] }).output(0));
  return model;
}

describe('quantize-dynamic embeddings', () => {
  const ids = BigInt64Array.from({ length: 2 * 9 }, (_, i) => BigInt((i * 7) % 40));
  const gather = async (m: Model) => (await runModel(m, { ids: { dtype: DType.INT64, dims: [2, 9], data: ids } })).y!.data as Float32Array;
  for (const format of ['qoperator', 'qdq'] as const) {
    for (const perChannel of [false, true]) {
      it(`${format}, ${perChannel ? 'one scale per row' : 'one scale'}: gathers exactly the dequantized rows`, async () => {
        const model = embeddingModel();
        const { after, result } = quantize(model, { format, perChannel, embeddings: true });
        assert.equal(result.stats.embeddingsQuantized, 1);
        assert.equal(after.graph.lookup('table'), undefined, 'the float table is gone');
        const t = model.graph.lookup('table')!.initializer!;
        const q = quantizeInt8(t.toFloat32(), 40, 16, 's8', perChannel ? 'row' : 'tensor');
        const table = dequantizeInt8(q);
        const expected = Float32Array.from({ length: ids.length * 16 }, (_, i) => table[Number(ids[Math.floor(i / 16)]!) * 16 + (i % 16)]!);
        const y = await gather(after);
        assert.deepEqual(Array.from(y), Array.from(expected));
        const yFloat = await gather(model);
        const halfStep = (i: number) => q.scales[perChannel ? Number(ids[Math.floor(i / 16)]!) : 0]! / 2;
        for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i]! - yFloat[i]!) <= halfStep(i) * (1 + 1e-6), `element ${i}`);
        assert.equal(quantize(after, { format, perChannel, embeddings: true }).result.modified, false);
      });
    }
  }

  it('keeps the table in float unless asked', () => {
    const { result } = quantize(embeddingModel());
    assert.equal(result.modified, false);
  });
});

describe('int8 weight scale search', () => {
  const squaredErrors = (w: Float32Array, q: ReturnType<typeof quantizeInt8>) => {
    const deq = dequantizeInt8(q);
    const groups = new Float64Array(q.scales.length);
    for (let i = 0; i < w.length; i++) {
      const g = q.granularity === 'tensor' ? 0 : q.granularity === 'row' ? Math.floor(i / q.cols) : i % q.cols;
      groups[g] = groups[g]! + (deq[i]! - w[i]!) ** 2;
    }
    return groups;
  };
  // Laplace-distributed weights, long columns: a tail of rare large values, the case clipping is for.
  const rand = mulberry32(11);
  const [rows, cols] = [1024, 8];
  const w = Float32Array.from({ length: rows * cols }, () => Math.log(rand() + 1e-9) * (rand() < 0.5 ? 1 : -1));

  for (const scheme of ['s8', 's8-reduced', 'u8'] as const) {
    for (const granularity of ['tensor', 'row', 'column'] as const) {
      it(`${scheme} per ${granularity}: no group has a larger squared error than with the max-abs scale`, () => {
        const plain = quantizeInt8(w, rows, cols, scheme, granularity);
        const searched = quantizeInt8(w, rows, cols, scheme, granularity, { searchScale: true });
        const [before, after] = [squaredErrors(w, plain), squaredErrors(w, searched)];
        for (let g = 0; g < before.length; g++) {
          assert.ok(after[g]! <= before[g]! * (1 + 1e-9), `group ${g}: ${after[g]} > ${before[g]}`);
          if (scheme !== 'u8') assert.ok(searched.scales[g]! <= plain.scales[g]! && searched.scales[g]! >= plain.scales[g]! * 0.85 * (1 - 1e-6), `group ${g} scale`);
        }
        if (granularity === 'column' && scheme !== 'u8') assert.ok(after.reduce((a, b) => a + b) < before.reduce((a, b) => a + b), 'the tails are clipped');
      });
    }
  }

  it('the pass with searchScale off keeps the max-abs scales', async () => {
    const model = linearModel(MATMUL);
    const x = gaussianRows(6, MATMUL.k, 7);
    const { after } = quantize(model, { perChannel: true, searchScale: false });
    const ref = reference(model, MATMUL, x, 's8-reduced', true, 'row', false);
    const y = await run(after, x, MATMUL.k);
    assert.ok(maxAbsDiff(y, ref.y) <= 2e-6 * maxAbs(ref.y), `vs the max-abs reference: ${maxAbsDiff(y, ref.y)}`);
  });
});

describe('quantize-dynamic on the real exports', { skip: skipWithoutShared }, () => {
  const ids = () => readNpy(sharedFile('eval_ids.npy'));
  const run = (name: string, options: Options) => {
    const { after } = quantize(loadModel(sharedFile(`${name}.onnx`)), options);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-dyn-'));
    const file = path.join(dir, `${name}.onnx`);
    saveModel(after, file);
    return { after: loadModel(file), bytes: fs.statSync(file).size };
  };

  it('llama-tiny per channel: perplexity <= 3.30 (fp32 3.2953), size <= 3.7 MB', async () => {
    const { after, bytes } = run('llama-tiny', { perChannel: true });
    const q = await evaluatePerplexity(after, ids());
    assert.ok(q.perplexity <= 3.30, `perplexity ${q.perplexity}`);
    assert.ok(bytes <= 3.7e6, `size ${bytes}`);
  });

  it('llama-tiny per tensor: perplexity within 1 % of fp32 (<= 3.328)', async () => {
    const q = await evaluatePerplexity(run('llama-tiny', {}).after, ids());
    assert.ok(q.perplexity <= 3.2953 * 1.01, `perplexity ${q.perplexity}`);
  });

  it('gpt2-tiny per channel, Gemm layers included: perplexity <= 2.64 (fp32 2.6353)', async () => {
    const { after } = run('gpt2-tiny', { perChannel: true });
    assert.ok(!after.graph.nodes.some((n) => n.opType === 'Gemm'), 'every Gemm is quantized');
    const q = await evaluatePerplexity(after, ids());
    assert.ok(q.perplexity <= 2.64, `perplexity ${q.perplexity}`);
  });

  it('bert-tiny per channel: MLM accuracy >= 0.825 (fp32 0.8264)', async () => {
    const { after } = run('bert-tiny', { perChannel: true });
    const q = await evaluateMaskedLm(after, readNpy(sharedFile('mlm_eval_inputs.npy')), readNpy(sharedFile('mlm_eval_labels.npy')));
    assert.ok(q.accuracy >= 0.825, `accuracy ${q.accuracy}`);
  });

  it('llmopt quantize --mode dynamic --per-channel --eval reports the perplexity', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-dyn-cli-')), 'llama.onnx');
    const r = runCli(['--json', 'quantize', sharedFile('llama-tiny.onnx'), '-o', out, '--mode', 'dynamic', '--per-channel', '--eval', sharedFile('eval_ids.npy')]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { baseline: { perplexity: number }; quality: { perplexity: number }; bytesAfter: number; bytesBefore: number };
    assert.ok(report.quality.perplexity <= 3.30, `perplexity ${report.quality.perplexity}`);
    assert.ok(report.bytesAfter < report.bytesBefore / 3);
  });
});
