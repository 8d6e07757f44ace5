import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarizeModel } from '../../src/analysis/summary.js';
import { Graph } from '../../src/ir/graph.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { buildTransformer } from './build-model.js';
import { mlpWithClutter, newModel } from '../helpers/tiny.js';

describe('model summary', () => {
  it('lists opsets, interface and a domain-qualified op histogram', () => {
    const s = summarizeModel(buildTransformer({ attention: 'ms-gqa', kvHeads: 2 }));
    assert.deepEqual(s.opsets, { 'ai.onnx': 17, 'com.microsoft': 1 });
    assert.deepEqual(s.inputs.map((i) => [i.name, i.dtype, i.shape]), [
      ['input_ids', 'int64', ['batch', 'seq']], ['position_ids', 'int64', ['batch', 'seq']],
      ['seqlens_k', 'int32', ['batch']], ['total_sequence_length', 'int32', []],
    ]);
    assert.deepEqual(s.outputs[0]?.shape, ['batch', 'seq', 32]);
    assert.equal(s.ops.find((o) => o.op === 'com.microsoft.GroupQueryAttention')?.count, 2);
    assert.ok(s.ops.every((o, i) => i === 0 || s.ops[i - 1]!.count >= o.count), 'sorted by count');
    assert.equal(s.ops.reduce((n, o) => n + o.count, 0), s.nodes.total);
  });

  it('counts nodes in subgraphs and Constant node tensors', () => {
    const model = mlpWithClutter();
    const g = model.graph;
    const cond = g.addInput('cond', { elemType: DType.BOOL, shape: [] });
    const branch = (name: string) => {
      const body = new Graph(model, name, g);
      const c = body.addNode({ opType: 'Constant', inputs: [], attributes: { value: { type: 'tensor', value: Tensor.fromTyped('k', DType.FLOAT, [6], new Float32Array(6)) } } });
      body.outputs.push(body.addNode({ opType: 'Identity', inputs: [c.output(0)] }).output(0));
      return body;
    };
    g.addNode({ opType: 'If', inputs: [cond], attributes: { then_branch: { type: 'graph', value: branch('then') }, else_branch: { type: 'graph', value: branch('else') } } });
    const s = summarizeModel(model);
    assert.deepEqual(s.nodes, { total: 7 + 4, inSubgraphs: 4, subgraphs: 2 });
    // w1 8x16, b1 16, w2 16x4, unused 3, plus two Constant tensors of 6
    assert.equal(s.parameters.total, 128 + 16 + 64 + 3 + 12);
    assert.deepEqual(s.parameters.byDtype.map((r) => [r.dtype, r.tensors]), [['float', 6]]);
  });

  it('counts MatMulNBits weights by logical size and keeps scales apart', () => {
    const float = summarizeModel(buildTransformer({})).parameters;
    const packed = summarizeModel(buildTransformer({ weights: 'matmulnbits' })).parameters;
    assert.equal(packed.total, float.total);
    const uint4 = packed.byDtype.find((r) => r.dtype === 'uint4')!;
    assert.equal(uint4.elements, packed.quantized.elements);
    assert.equal(uint4.bytes * 2, uint4.elements);
    assert.deepEqual(packed.quantized.formats, ['MatMulNBits 4-bit, block 32']);
    assert.equal(packed.quantizationMetadata.tensors, uint4.tensors);
    assert.equal(packed.bytes, packed.byDtype.reduce((n, r) => n + r.bytes, 0) + packed.quantizationMetadata.bytes);
  });

  it('counts int4 DequantizeLinear weights by element', () => {
    const float = summarizeModel(buildTransformer({})).parameters;
    const qdq = summarizeModel(buildTransformer({ weights: 'qdq' })).parameters;
    assert.equal(qdq.total, float.total);
    assert.equal(qdq.byDtype.find((r) => r.dtype === 'int4')?.elements, qdq.quantized.elements);
    assert.deepEqual(qdq.quantized.formats, ['DequantizeLinear int4']);
  });

  it('reports external data files with their tensors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-summary-'));
    const file = path.join(dir, 'm.onnx');
    const model = newModel();
    const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: ['n', 32] });
    const w = model.graph.addConstant('w', Tensor.fromTyped('w', DType.FLOAT, [32, 32], new Float32Array(1024)));
    model.graph.outputs.push(model.graph.addNode({ opType: 'MatMul', inputs: [x, w] }).output(0));
    saveModel(model, file, { externalData: 'external', threshold: 64 });
    const s = summarizeModel(loadModel(file));
    assert.deepEqual(s.externalData, [{ location: 'm.onnx.data', tensors: 1, bytes: 4096 }]);
  });
});
