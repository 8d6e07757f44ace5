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
import { countNmViolations } from '../../src/math/sparsity.js';
import { writeIdsNpy } from '../helpers/npy.js';

/** ids[b, s] -> Gather(table) -> MatMul 'up' -> Relu -> MatMul 'mid' -> Relu -> MatMul 'head' -> logits[b, s, 16]. */
function tokenModel() {
  const model = newModel();
  const g = model.graph;
  const ids = g.addInput('input_ids', { elemType: DType.INT64, shape: ['batch', 'sequence'] });
  let h = g.addNode({ opType: 'Gather', inputs: [randomWeight(model, 'embed', [16, 64], 1), ids] }).output(0);
  for (const [name, seed] of [['up', 2], ['mid', 3]] as const) {
    const y = g.addNode({ opType: 'MatMul', name, inputs: [h, randomWeight(model, `w_${name}`, [64, 64], seed)] }).output(0);
    h = g.addNode({ opType: 'Relu', inputs: [y] }).output(0);
  }
  const logits = g.addNode({ opType: 'MatMul', name: 'head', inputs: [h, randomWeight(model, 'w_head', [64, 16], 4)], outputs: ['logits'] }).output(0);
  logits.type = { elemType: DType.FLOAT, shape: ['batch', 'sequence', 16] };
  g.outputs.push(logits);
  return model;
}


interface PruneJson {
  stats: Record<string, number>;
  totals: { params: number; nonZerosAfter: number; sparsity: number };
  layers: { layer: string; sparsity: number; nmOk?: boolean; relativeError?: number }[];
  gzipBytesBefore: number;
  gzipBytesAfter: number;
  nmOk?: boolean;
  baseline?: { perplexity: number };
  quality?: { perplexity: number };
}

describe('llmopt prune', () => {
  let dir = '';
  let input = '';
  let ids = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-prune-'));
    input = path.join(dir, 'model.onnx');
    saveModel(tokenModel(), input);
    ids = path.join(dir, 'ids.npy');
    writeIdsNpy(ids, 6, 12, 16);
  });

  it('magnitude 50 %: the per-layer table, exact sparsity, a smaller compressed file (--json)', () => {
    const out = path.join(dir, 'mag.onnx');
    const r = runCli(['--json', 'prune', input, '-o', out, '--method', 'magnitude', '--sparsity', '0.5']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as PruneJson;
    assert.deepEqual(report.layers.map((l) => l.layer).sort(), ['mid', 'up'], 'the head stays dense');
    assert.equal(report.totals.sparsity, 0.5);
    assert.ok(report.gzipBytesAfter < report.gzipBytesBefore * 0.9, `gzip ${report.gzipBytesBefore} -> ${report.gzipBytesAfter}`);
    const w = loadModel(out).graph.lookup('w_up')!.initializer!.toFloat32();
    assert.equal(w.filter((v) => v === 0).length, 64 * 32);
  });

  it('wanda 2:4 with calibration and evaluation: N:M checked, quality before and after', () => {
    const out = path.join(dir, 'wanda.onnx');
    const r = runCli(['--json', 'prune', input, '-o', out, '--method', 'wanda', '--pattern', '2:4', '--calib', ids, '--eval', ids]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as PruneJson;
    assert.equal(report.nmOk, true);
    assert.ok(report.layers.every((l) => l.nmOk === true && l.relativeError !== undefined && l.relativeError > 0));
    assert.ok(report.quality!.perplexity > 1 && report.baseline!.perplexity > 1);
    const w = loadModel(out).graph.lookup('w_mid')!.initializer!.toFloat32();
    assert.equal(countNmViolations(w, 64, 64, false, { n: 2, m: 4 }), 0);
  });

  it('refuses bad input with one line and exit 2, writing nothing', () => {
    const out = path.join(dir, 'bad.onnx');
    const cases: [string[], RegExp][] = [
      [['--method', 'magnitude', '--sparsity', '1'], /--sparsity must be in \[0, 1\)/],
      [['--method', 'magnitude', '--sparsity', '-0.2'], /--sparsity must be in \[0, 1\)/],
      [['--method', 'magnitude', '--pattern', '5:4'], /--pattern: .*N must be between 1 and M/],
      [['--method', 'magnitude', '--pattern', '2of4'], /--pattern: .*not N:M/],
      [['--method', 'magnitude'], /--sparsity S .* or --pattern N:M/],
      [['--method', 'magnitude', '--pattern', '2:4', '--sparsity', '0.3'], /contradicts/],
      [['--method', 'magnitude', '--pattern', '2:4', '--scope', 'global'], /--scope global does not apply/],
      [['--method', 'wanda', '--sparsity', '0.5'], /--method wanda needs calibration data/],
      [['--method', 'sparsegpt', '--sparsity', '0.5', '--reconstruct'], /--method sparsegpt needs calibration data/],
      [['--method', 'random', '--sparsity', '0.5'], /--method must be one of magnitude, wanda, sparsegpt/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(['prune', input, '-o', out, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.ok(!fs.existsSync(out));
  });

  it('--help shows the examples', () => {
    const r = runCli(['prune', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Examples:[\s\S]*--method sparsegpt --pattern 2:4/);
  });
});
