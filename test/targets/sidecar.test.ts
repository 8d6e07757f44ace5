import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSidecar, readSidecar, sidecarPath, writeSidecar } from '../../src/sidecar.js';
import { dimRange, inputRanges } from '../../src/targets/shape-ranges.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import quantizeWeightOnly from '../../passes/quantize/quantize-weight-only.js';
import { applyPass } from '../helpers/model.js';
import { mlpWithClutter, newModel } from '../helpers/tiny.js';
import { asymmetricGraph, gqaGraph } from './graphs.js';

const request = (target: 'cpu' | 'cuda' | 'tensorrt' | 'openvino') => ({ target, steps: [{ pass: 'remove-identity', modified: true, stats: { removed: 1 } }], toolVersion: '9.9.9' });

describe('sidecar', () => {
  it('names OUT.llmopt.json next to OUT.onnx', () => {
    assert.equal(sidecarPath('/a/model.int4.onnx'), '/a/model.int4.llmopt.json');
    assert.equal(sidecarPath('model'), 'model.llmopt.json');
  });

  it('gives symbolic dims ranges from their names, overridable', () => {
    assert.deepEqual(dimRange('batch'), { min: 1, opt: 1, max: 8 });
    assert.deepEqual(dimRange('sequence_length'), { min: 1, opt: 128, max: 2048 });
    assert.deepEqual(dimRange('past_sequence_length'), { min: 0, opt: 128, max: 2048 });
    assert.deepEqual(dimRange('seq', { seq: { min: 4, opt: 16, max: 64 } }), { min: 4, opt: 16, max: 64 });
    const r = inputRanges(gqaGraph())[0]!;
    assert.deepEqual([r.min, r.opt, r.max], [[1, 1, 64], [1, 128, 64], [8, 2048, 64]]);
  });

  it('tensorrt: fp16 for float32 linear layers, shape profiles for symbolic inputs, int8 for Q/DQ', () => {
    const s = buildSidecar(mlpWithClutter(), 'out.onnx', request('tensorrt'));
    assert.equal(s.provider.name, 'TensorrtExecutionProvider');
    assert.equal(s.provider.options.trt_fp16_enable, true);
    assert.equal(s.provider.options.trt_profile_min_shapes, 'x:1x8');
    assert.equal(s.provider.options.trt_profile_max_shapes, 'x:8x8');
    assert.equal(s.provider.options.trt_int8_enable, undefined);
    assert.equal(buildSidecar(asymmetricGraph(), 'q.onnx', request('tensorrt')).provider.options.trt_int8_enable, true);
    assert.deepEqual(s.findings, { errors: 0, warnings: 0 });
  });

  it('tensorrt: 2:4 sparse linear weights turn trt_sparsity_enable on', () => {
    const m = newModel();
    const x = m.graph.addInput('x', { elemType: DType.FLOAT, shape: [2, 8] });
    const w = Float32Array.from({ length: 32 }, (_, i) => (Math.floor(i / 4) % 4 < 2 ? 0.5 : 0));
    const wv = m.graph.addConstant('w', Tensor.fromTyped('w', DType.FLOAT, [8, 4], w));
    m.graph.outputs.push(m.graph.addNode({ opType: 'MatMul', inputs: [x, wv], outputs: ['y'] }).output(0));
    assert.equal(buildSidecar(m, 'o.onnx', request('tensorrt')).provider.options.trt_sparsity_enable, true);
    assert.equal(buildSidecar(mlpWithClutter(), 'o.onnx', request('tensorrt')).provider.options.trt_sparsity_enable, undefined);
  });

  it('openvino: graph optimizations off; cpu: the session entry that keeps Q/DQ MatMuls exact', async () => {
    assert.equal(buildSidecar(mlpWithClutter(), 'o.onnx', request('openvino')).session.graphOptimizationLevel, 'disabled');
    const { after } = await applyPass(quantizeWeightOnly, mlpWithClutter(), { format: 'qdq', blockSize: 16 });
    const cpu = buildSidecar(after, 'o.onnx', request('cpu'));
    assert.deepEqual(cpu.session.config, { 'session.qdq_matmulnbits_accuracy_level': '0' });
    assert.equal(cpu.findings.warnings, 2);
  });

  it('writes, reads back and validates', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-sidecar-'));
    const model = path.join(dir, 'm.onnx');
    const file = writeSidecar(mlpWithClutter(), model, request('cuda'));
    assert.equal(file, path.join(dir, 'm.llmopt.json'));
    const back = readSidecar(model);
    assert.equal(back.target, 'cuda');
    assert.equal(back.tool.version, '9.9.9');
    assert.deepEqual(back.steps, request('cuda').steps);
    fs.writeFileSync(file, JSON.stringify({ ...back, target: 'tpu' }));
    assert.throws(() => readSidecar(file), /target/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
