import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { saveModel } from '../../src/io/save.js';
import { readSidecar } from '../../src/sidecar.js';
import { mlpWithClutter } from '../helpers/tiny.js';
import { biasDqGraph, gqaGraph } from '../targets/graphs.js';

describe('llmopt check', () => {
  let dir = '';
  let gqa = '';
  let plain = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-check-'));
    gqa = path.join(dir, 'gqa.onnx');
    plain = path.join(dir, 'plain.onnx');
    saveModel(gqaGraph(), gqa);
    saveModel(mlpWithClutter(), plain);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the findings and exits 1 when one is an error', () => {
    const r = runCli(['check', gqa, '--target', 'cuda']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /op-dtype/);
    assert.match(r.stdout, /legalize-cuda/);
    assert.match(r.stderr, /1 error finding for target cuda/);
  });

  it('exits 0 with no error findings, and --json gives the findings list', () => {
    assert.equal(runCli(['check', gqa, '--target', 'cpu']).code, 0);
    const r = runCli(['--json', 'check', gqa, '--target', 'tensorrt']);
    assert.equal(r.code, 1);
    const data = JSON.parse(r.stdout) as { target: string; errors: number; findings: { rule: string; node: string; fix: string }[] };
    assert.equal(data.target, 'tensorrt');
    assert.equal(data.errors, 1);
    assert.deepEqual(data.findings.map((f) => [f.rule, f.node, f.fix]), [['contrib-op', 'gqa', 'legalize-tensorrt']]);
  });

  it('rejects an unknown target (exit 2)', () => {
    assert.equal(runCli(['check', plain, '--target', 'tpu']).code, 2);
  });

  it('optimize writes the sidecar and warns about the target\'s findings; --strict-target fails with exit 3', () => {
    const model = path.join(dir, 'bias.onnx');
    saveModel(biasDqGraph(), model);
    const out = path.join(dir, 'bias.trt.onnx');
    const warned = runCli(['optimize', model, '-o', out, '--passes', 'remove-identity', '--target', 'tensorrt']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /target tensorrt: error bias-dq/);
    assert.equal(readSidecar(out).findings.errors, 1);
    assert.equal(runCli(['optimize', model, '-o', out, '--passes', 'remove-identity', '--target', 'tensorrt', '--strict-target']).code, 3);
    const fixed = runCli(['optimize', model, '-o', out, '--passes', 'legalize-tensorrt', '--target', 'tensorrt', '--strict-target']);
    assert.equal(fixed.code, 0, fixed.stderr);
    const sidecar = readSidecar(out);
    assert.deepEqual(sidecar.findings, { errors: 0, warnings: 0 });
    assert.equal(sidecar.steps[0]!.pass, 'legalize-tensorrt');
    assert.equal(sidecar.steps[0]!.stats!.biasDequantized, 1);
  });

  it('quantize writes the sidecar with the pass and its options', () => {
    const out = path.join(dir, 'plain.int4.onnx');
    const r = runCli(['quantize', plain, '-o', out, '--mode', 'weight-only', '--target', 'openvino', '--block-size', '16']);
    assert.equal(r.code, 0, r.stderr);
    const s = readSidecar(out);
    assert.equal(s.target, 'openvino');
    assert.equal(s.steps[0]!.pass, 'quantize-weight-only');
    assert.equal(s.steps[0]!.options!.blockSize, 16);
    assert.equal(s.session.graphOptimizationLevel, 'disabled');
    assert.deepEqual(s.findings, { errors: 0, warnings: 0 });
  });
});
