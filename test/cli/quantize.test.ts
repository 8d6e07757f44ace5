import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { newModel, randomWeight } from '../helpers/tiny.js';
import { saveModel } from '../../src/io/save.js';
import { loadModel } from '../../src/io/load.js';
import { DType } from '../../src/ir/dtype.js';
import { writeIdsNpy } from '../helpers/npy.js';

/** ids[b, s] -> Gather(table) -> MatMul -> Relu -> MatMul -> logits[b, s, 16]: a minimal token model. */
function tokenModel() {
  const model = newModel();
  const g = model.graph;
  const ids = g.addInput('input_ids', { elemType: DType.INT64, shape: ['batch', 'sequence'] });
  const e = g.addNode({ opType: 'Gather', inputs: [randomWeight(model, 'embed', [16, 64], 1), ids] }).output(0);
  const h = g.addNode({ opType: 'MatMul', name: 'up', inputs: [e, randomWeight(model, 'w_up', [64, 64], 2)] }).output(0);
  const r = g.addNode({ opType: 'Relu', inputs: [h] }).output(0);
  const logits = g.addNode({ opType: 'MatMul', name: 'head', inputs: [r, randomWeight(model, 'w_head', [64, 16], 3)], outputs: ['logits'] }).output(0);
  logits.type = { elemType: DType.FLOAT, shape: ['batch', 'sequence', 16] };
  g.outputs.push(logits);
  return model;
}


describe('llmopt quantize', () => {
  let dir = '';
  let input = '';
  let ids = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-quant-'));
    input = path.join(dir, 'model.onnx');
    saveModel(tokenModel(), input);
    ids = path.join(dir, 'ids.npy');
    writeIdsNpy(ids, 6, 12, 16);
  });

  it('weight-only 4-bit with evaluation and a per-layer table (--json)', () => {
    const out = path.join(dir, 'int4.onnx');
    const r = runCli(['--json', 'quantize', input, '-o', out, '--mode', 'weight-only', '--bits', '4', '--block-size', '32', '--eval', ids, '--report', '--calib', ids]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { stats: Record<string, number>; baseline: { perplexity: number }; quality: { perplexity: number }; layers: { node: string; sqnrDb: number }[]; bytesAfter: number; bytesBefore: number };
    assert.equal(report.stats.layersQuantized, 2);
    assert.ok(report.bytesAfter < report.bytesBefore);
    assert.ok(Number.isFinite(report.quality.perplexity) && report.quality.perplexity > 1);
    assert.deepEqual(report.layers.map((l) => l.node).sort(), ['head', 'up']);
    const model = loadModel(out);
    assert.equal(model.graph.nodesOfType('MatMulNBits', 'com.microsoft').length, 2);
  });

  it('weight-only accuracy level: 4 by default for cpu, 0 for cuda, --accuracy-level wins', () => {
    const levels = (flags: string[]) => {
      const out = path.join(dir, 'level.onnx');
      const r = runCli(['quantize', input, '-o', out, '--mode', 'weight-only', ...flags]);
      assert.equal(r.code, 0, r.stderr);
      return loadModel(out).graph.nodesOfType('MatMulNBits', 'com.microsoft').map((n) => n.getInt('accuracy_level'));
    };
    assert.deepEqual(levels([]), [4, 4]);
    assert.deepEqual(levels(['--accuracy-level', '0']), [0, 0]);
    assert.deepEqual(levels(['--target', 'cuda']), [0, 0]);
  });

  it('refuses flags that do not apply to the mode, and unknown modes', () => {
    const out = path.join(dir, 'x.onnx');
    let r = runCli(['quantize', input, '-o', out, '--mode', 'weight-only', '--calib-method', 'entropy']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--calib-method applies to --mode static/);
    r = runCli(['quantize', input, '-o', out, '--mode', 'int3']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--mode must be one of/);
    r = runCli(['quantize', input, '-o', out, '--mode', 'weight-only', '--block-size', '24']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /blockSize/);
    assert.ok(!fs.existsSync(out));
  });

  it('refuses calibration data that does not match the model', () => {
    const bad = path.join(dir, 'floats.npy');
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117, ' ') + '\n';
    const bytes = new Uint8Array(10 + header.length + 24);
    bytes.set(Buffer.from('\x93NUMPY', 'latin1'));
    bytes[6] = 1;
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    bytes.set(Buffer.from(header, 'latin1'), 10);
    fs.writeFileSync(bad, bytes);
    const out = path.join(dir, 'y.onnx');
    const r = runCli(['quantize', input, '-o', out, '--mode', 'weight-only', '--calib', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /'input_ids' is float, the model expects int64/);
    assert.ok(!fs.existsSync(out));
  });

  it('--max-drop needs evaluation data', () => {
    const r = runCli(['quantize', input, '-o', path.join(dir, 'z.onnx'), '--mode', 'weight-only', '--max-drop', '0.01']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-drop needs --eval/);
  });
});
