import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { sharedFile, skipWithoutShared } from '../helpers/shared.js';
import { saveModel } from '../../src/io/save.js';
import { buildTransformer } from '../analysis/build-model.js';

interface InspectJson {
  file: string;
  files: { path: string; kind: string; bytes: number; tensors: number | null }[];
  irVersion: number;
  opsets: Record<string, number>;
  inputs: { name: string; dtype: string; shape: (string | number)[] | null }[];
  ops: { op: string; count: number }[];
  nodes: { total: number };
  parameters: { total: number; quantized: { elements: number } };
  transformer: { blockCount: number; attention: { heads: number; kvHeads: number } | null; architecture: { kind: string } };
  warnings: string[];
}

describe('llmopt inspect', () => {
  let dir = '';
  let file = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-inspect-'));
    file = path.join(dir, 'gqa.onnx');
    saveModel(buildTransformer({ attention: 'ms-gqa', kvHeads: 2, weights: 'matmulnbits' }), file);
  });

  it('prints readable sections', () => {
    const r = runCli(['inspect', file]);
    assert.equal(r.code, 0, r.stderr);
    for (const title of ['Model', 'Inputs', 'Outputs', 'Parameters', 'Operators', 'Transformer', 'Blocks']) {
      assert.match(r.stdout, new RegExp(`^${title}`, 'm'), `section ${title}`);
    }
    assert.match(r.stdout, /com\.microsoft\.GroupQueryAttention\s+2/);
    assert.match(r.stdout, /4 heads × 16, grouped-query \(2 key\/value heads\)/);
    assert.match(r.stdout, /uint4/);
  });

  it('--json prints one object with the same facts', () => {
    const r = runCli(['inspect', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout) as InspectJson;
    assert.equal(data.files[0]?.kind, 'model');
    assert.equal(data.files[0]?.bytes, fs.statSync(file).size);
    assert.equal(data.opsets['com.microsoft'], 1);
    assert.deepEqual(data.inputs[0], { name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'] });
    assert.equal(data.ops.reduce((n, o) => n + o.count, 0), data.nodes.total);
    assert.ok(data.parameters.quantized.elements > 0);
    assert.equal(data.transformer.blockCount, 2);
    assert.deepEqual(data.transformer.attention && [data.transformer.attention.heads, data.transformer.attention.kvHeads], [4, 2]);
    assert.deepEqual(data.warnings, []);
    assert.equal(r.stderr, '');
  });

  it('lists external data files and, with --linears, every linear layer', () => {
    const ext = path.join(dir, 'ext', 'model.onnx');
    fs.mkdirSync(path.dirname(ext));
    saveModel(buildTransformer({}), ext, { externalData: 'external', threshold: 1024 });
    const r = runCli(['inspect', ext, '--linears']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Files/m);
    assert.match(r.stdout, /model\.onnx\.data\s+external-data/);
    assert.match(r.stdout, /^Linear layers of block 1/m);
    const data = JSON.parse(runCli(['--json', 'inspect', ext]).stdout) as InspectJson;
    assert.equal(data.files[1]?.kind, 'external-data');
    assert.ok((data.files[1]?.tensors ?? 0) > 0);
  });

  it('--quiet still prints the report, and nothing on stderr', () => {
    const r = runCli(['--quiet', 'inspect', file]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Transformer/m);
    assert.equal(r.stderr, '');
  });

  it('llama-tiny: 4 decoder blocks', { skip: skipWithoutShared }, () => {
    const r = runCli(['inspect', sharedFile('llama-tiny.onnx'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout) as InspectJson;
    assert.equal(data.transformer.blockCount, 4);
    assert.equal(data.transformer.architecture.kind, 'decoder');
    assert.deepEqual(data.transformer.attention && [data.transformer.attention.heads, data.transformer.attention.kvHeads], [8, 2]);
  });

  it('a model without attention gets a warning, not an error', () => {
    const plain = path.join(dir, 'plain.onnx');
    saveModel(buildTransformer({ blocks: 0 }), plain);
    const r = runCli(['inspect', plain, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout) as InspectJson;
    assert.equal(data.transformer.blockCount, 0);
    assert.equal(data.warnings.length, 1);
  });
});
