/** `llmopt convert` moves weights between inline and external data, and never writes over its input. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { decodeModel } from '../../src/onnx/decode.js';
import type { Model } from '../../src/ir/model.js';
import { decoderStack, leftovers, tempDir } from './files.js';

const weights = (m: Model) => new Map(m.graph.initializers.map((v) => [v.name, Buffer.from(v.initializer!.bytes())]));
const externalNames = (file: string) =>
  (decodeModel(fs.readFileSync(file), file).graph!.initializer ?? []).filter((t) => t.data_location === 1).map((t) => t.name).sort();

describe('llmopt convert and external data', () => {
  let dir = '';
  let input = '';
  const original = decoderStack(2, 16); // weights of 4096 and 64 bytes
  before(() => {
    dir = tempDir('convert');
    input = path.join(dir, 'in.onnx');
    saveModel(original, input);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--external-data --threshold N, then --inline, keep every weight', () => {
    fs.mkdirSync(path.join(dir, 'ext'));
    const ext = path.join(dir, 'ext', 'model.onnx');
    const r = runCli(['--json', 'convert', input, '-o', ext, '--external-data', '--threshold', '1024']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { files: { file: string; bytes: number }[] };
    assert.deepEqual(report.files.map((f) => path.basename(f.file)), ['model.onnx', 'model.onnx.data']);
    assert.deepEqual(externalNames(ext), ['down0', 'down1', 'up0', 'up1']);

    const back = path.join(dir, 'back.onnx');
    const r2 = runCli(['convert', ext, '-o', back, '--inline']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(externalNames(back), []);
    assert.ok(!fs.existsSync(`${back}.data`));
    assert.deepEqual(weights(loadModel(back)), weights(original));
    assert.deepEqual(fs.readFileSync(back), fs.readFileSync(input), 'inline again: the input byte for byte');
  });

  it('--max-data-file-bytes splits the data', () => {
    const out = path.join(dir, 'split.onnx');
    const r = runCli(['convert', input, '-o', out, '--external-data', '--threshold', '0', '--max-data-file-bytes', '5000']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('split.onnx.data')).sort(),
      ['split.onnx.data', 'split.onnx.data.1', 'split.onnx.data.2', 'split.onnx.data.3']);
    assert.deepEqual(weights(loadModel(out)), weights(original));
  });

  it('refuses an output that is a symbolic link to the input', () => {
    const alias = path.join(dir, 'alias.onnx');
    fs.symlinkSync(input, alias);
    const before = fs.readFileSync(input);
    const r = runCli(['convert', input, '-o', alias, '--external-data']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^llmopt: .*alias\.onnx: the output would overwrite the input model/);
    assert.deepEqual(fs.readFileSync(input), before);
  });

  it("refuses a data file that is the input's, and one outside the output's folder", () => {
    fs.mkdirSync(path.join(dir, 'src'));
    const ext = path.join(dir, 'src', 'model.onnx');
    saveModel(original, ext, { externalData: 'external' });
    const other = path.join(dir, 'src', 'other.onnx');
    const r = runCli(['convert', ext, '-o', other, '--external-data', '--data-file', 'model.onnx.data']);
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^llmopt: .*other\.onnx: its data file 'model\.onnx\.data' is one the input reads from; choose another output name$/);
    const r2 = runCli(['convert', ext, '-o', other, '--external-data', '--data-file', '../model.data']);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /data file '\.\.\/model\.data' must be a relative path inside the output's folder/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'src')).sort(), ['model.onnx', 'model.onnx.data']);
    assert.deepEqual(leftovers(path.join(dir, 'src')), []);
  });
});
