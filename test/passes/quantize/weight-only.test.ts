import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import quantizeWeightOnly from '../../../passes/quantize/quantize-weight-only.js';
import { applyPass, assertSameOutputs, cloneModel, opTypes } from '../../helpers/model.js';
import { newModel, randomWeight } from '../../helpers/tiny.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import type { Model } from '../../../src/ir/model.js';
import { columnReader, dequantizeBlockwise, quantizeBlockwise, type BlockwiseOptions } from '../../../src/math/blockwise.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { loadModel } from '../../../src/io/load.js';
import { saveModel } from '../../../src/io/save.js';
import { readNpy } from '../../../src/runtime/npy.js';
import { evaluateMaskedLm, evaluatePerplexity } from '../../../src/eval/evaluate.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { EXACT_QDQ_CONFIG, runModel } from '../../../src/runtime/session.js';

/** x[b, K] -> MatMul(W[K,N]) -> Gemm(W2, bias, transB=1, alpha, beta) -> y */
function twoLayers(k: number, n: number): Model {
  const model = newModel();
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['batch', k] });
  const h = g.addNode({ opType: 'MatMul', name: 'proj', inputs: [x, randomWeight(model, 'w1', [k, n], 1)] }).output(0);
  const bias = randomWeight(model, 'b2', [n], 3);
  const y = g.addNode({
    opType: 'Gemm', name: 'head', inputs: [h, randomWeight(model, 'w2', [n, n], 2), bias], outputs: ['y'],
    attributes: { transB: { type: 'int', value: 1 }, alpha: { type: 'float', value: 0.5 }, beta: { type: 'float', value: 2 } },
  }).output(0);
  g.outputs.push(y);
  return model;
}

/** The float model whose weights are exactly what the quantized codes stand for. */
function dequantizedReference(model: Model, o: BlockwiseOptions): Model {
  const ref = cloneModel(model);
  for (const [name, transposed] of [['w1', false], ['w2', true]] as const) {
    const t = ref.graph.lookup(name)!.initializer!;
    const [k, n] = transposed ? [t.dims[1]!, t.dims[0]!] : [t.dims[0]!, t.dims[1]!];
    const q = quantizeBlockwise(columnReader(t.toFloat32(), k, n, transposed), k, n, o);
    const kn = dequantizeBlockwise(q);
    const data = transposed ? Float32Array.from({ length: k * n }, (_, i) => kn[(i % k) * n + Math.floor(i / k)]!) : kn;
    t.setBytes(new Uint8Array(data.buffer));
  }
  return ref;
}

const cases: { label: string; options: BlockwiseOptions & { bits: 4 | 8; blockSize: 16 | 32; format: 'matmulnbits' | 'qdq' }; k: number }[] = [
  { label: '4-bit symmetric MatMulNBits', options: { bits: 4, blockSize: 32, symmetric: true, searchScale: true, format: 'matmulnbits' }, k: 64 },
  { label: '4-bit asymmetric MatMulNBits, K not a multiple of the block', options: { bits: 4, blockSize: 32, symmetric: false, searchScale: true, format: 'matmulnbits' }, k: 40 },
  { label: '8-bit symmetric MatMulNBits', options: { bits: 8, blockSize: 16, symmetric: true, searchScale: false, format: 'matmulnbits' }, k: 48 },
  { label: '4-bit symmetric DequantizeLinear(block_size)', options: { bits: 4, blockSize: 32, symmetric: true, searchScale: true, format: 'qdq' }, k: 64 },
  { label: '4-bit asymmetric DequantizeLinear(block_size)', options: { bits: 4, blockSize: 16, symmetric: false, searchScale: false, format: 'qdq' }, k: 32 },
];

describe('quantize-weight-only', () => {
  for (const c of cases) {
    it(`${c.label}: computes exactly the dequantized weights`, async () => {
      const model = twoLayers(c.k, 32);
      // accuracy level 0: the kernel multiplies float activations by exactly the dequantized weights
      const { after, result } = await applyPass(quantizeWeightOnly, model, { ...c.options, accuracyLevel: 0 });
      assert.equal(result.stats.layersQuantized, 2);
      const ops = opTypes(after);
      if (c.options.format === 'matmulnbits') assert.deepEqual(ops, ['com.microsoft.MatMulNBits', 'com.microsoft.MatMulNBits']);
      else assert.deepEqual(ops.filter((o) => o === 'DequantizeLinear').length, 2);
      assert.equal(after.graph.lookup('w1'), undefined, 'the float weight is gone');
      const session = { config: EXACT_QDQ_CONFIG };
      await assertSameOutputs(dequantizedReference(model, c.options), after, { atol: 2e-5, dims: { batch: 5 }, session });
      // and close to the float model (outputs are of order 5): quantization noise, not garbage
      await assertSameOutputs(model, after, { atol: c.options.bits === 8 ? 0.05 : 1, dims: { batch: 5 }, session });
    });
  }

  it('picks the output form from the target', async () => {
    const model = twoLayers(64, 32);
    for (const [target, op] of [['cpu', 'MatMulNBits'], ['cuda', 'MatMulNBits'], ['tensorrt', 'DequantizeLinear'], ['openvino', 'DequantizeLinear']] as const) {
      const copy = cloneModel(model);
      quantizeWeightOnly.run(copy, quantizeWeightOnly.options.parse({}), quietContext({ target }));
      assert.ok(copy.graph.nodes.some((n) => n.opType === op), `${target} -> ${op}`);
    }
  });

  it('accuracy level: 4 (int8 activations) by default for cpu, within 2 % of the exact level 0; 0 for cuda; an explicit level wins', async () => {
    const model = twoLayers(64, 32);
    const levels = (m: Model) => m.graph.nodesOfType('MatMulNBits', 'com.microsoft').map((n) => n.getInt('accuracy_level', -1));
    const cpu = await applyPass(quantizeWeightOnly, model, {});
    assert.deepEqual(levels(cpu.after), [4, 4]);
    const exact = await applyPass(quantizeWeightOnly, model, { accuracyLevel: 0 });
    assert.deepEqual(levels(exact.after), [0, 0]);
    for (const target of ['cuda', 'tensorrt', 'openvino'] as const) {
      const copy = cloneModel(model);
      await quantizeWeightOnly.run(copy, quantizeWeightOnly.options.parse({ format: 'matmulnbits' }), quietContext({ target }));
      assert.deepEqual(levels(copy), [0, 0], target);
    }
    const feeds = { x: { dtype: DType.FLOAT, dims: [5, 64], data: Float32Array.from({ length: 5 * 64 }, (_, i) => Math.sin(i * 0.7) * 2) } };
    const [y4, y0] = [(await runModel(cpu.after, feeds)).y!.data as Float32Array, (await runModel(exact.after, feeds)).y!.data as Float32Array];
    let peak = 0, diff = 0;
    for (let i = 0; i < y0.length; i++) { peak = Math.max(peak, Math.abs(y0[i]!)); diff = Math.max(diff, Math.abs(y4[i]! - y0[i]!)); }
    // The runtime reads the attribute (int8 activations round), and the rounding stays small.
    assert.ok(diff > 0 && diff <= 0.02 * peak, `level 4 vs level 0: max difference ${diff}, outputs up to ${peak}`);
  });

  it('leaves excluded layers and activation products alone', async () => {
    const model = twoLayers(64, 32);
    const g = model.graph;
    const y = g.outputs[0]!;
    const z = g.addNode({ opType: 'MatMul', inputs: [y, g.addNode({ opType: 'Transpose', inputs: [y] }).output(0)], outputs: ['z'] }).output(0);
    g.outputs.push(z);
    const { after, result } = await applyPass(quantizeWeightOnly, model, { exclude: ['head'] });
    assert.equal(result.stats.layersQuantized, 1);
    assert.ok(opTypes(after).includes('Gemm'));
    assert.equal(opTypes(after).filter((o) => o === 'MatMul').length, 1);
    const again = await applyPass(quantizeWeightOnly, after, { exclude: ['head'] });
    assert.equal(again.result.modified, false);
  });

  it('rejects a block size the kernel does not have', () => {
    assert.throws(() => quantizeWeightOnly.options.parse({ blockSize: 24 }));
    assert.throws(() => quantizeWeightOnly.options.parse({ bits: 3 }));
  });
});

describe('quantize-weight-only on the real exports', { skip: skipWithoutShared }, () => {
  const run = async (name: string) => {
    const model = loadModel(sharedFile(`${name}.onnx`));
    const { after } = await applyPass(quantizeWeightOnly, model, { bits: 4, blockSize: 32 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-wo-'));
    const file = path.join(dir, `${name}.onnx`);
    saveModel(after, file);
    return { after: loadModel(file), bytes: fs.statSync(file).size };
  };

  // The default accuracy level for cpu (4: int8 activations in the kernel).
  it('llama-tiny 4-bit block 32: perplexity <= 3.39, size <= 2.5 MB', async () => {
    const { after, bytes } = await run('llama-tiny');
    const q = await evaluatePerplexity(after, readNpy(sharedFile('eval_ids.npy')));
    assert.ok(q.perplexity <= 3.39, `perplexity ${q.perplexity}`);
    assert.ok(bytes <= 2.5e6, `size ${bytes}`);
  });

  it('gpt2-tiny 4-bit block 32 with its Gemm layers: perplexity <= 2.70, size <= 3 MB', async () => {
    const { after, bytes } = await run('gpt2-tiny');
    assert.ok(!after.graph.nodes.some((n) => n.opType === 'Gemm'), 'every Gemm is quantized');
    const q = await evaluatePerplexity(after, readNpy(sharedFile('eval_ids.npy')));
    assert.ok(q.perplexity <= 2.70, `perplexity ${q.perplexity}`);
    assert.ok(bytes <= 3e6, `size ${bytes}`);
  });

  it('bert-tiny 4-bit block 32: MLM accuracy >= 0.82', async () => {
    const { after } = await run('bert-tiny');
    const q = await evaluateMaskedLm(after, readNpy(sharedFile('mlm_eval_inputs.npy')), readNpy(sharedFile('mlm_eval_labels.npy')));
    assert.ok(q.accuracy >= 0.82, `accuracy ${q.accuracy}`);
  });
});
