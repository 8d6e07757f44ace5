import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { mlpWithClutter } from '../helpers/tiny.js';
import { saveModel } from '../../src/io/save.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { encodeMessage } from '../../src/onnx/encode.js';

/** One clear line on stderr, no stack trace, the expected exit code, nothing written. */
function assertCleanFailure(r: CliResult, code: number, pattern: RegExp, output?: string): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^llmopt: /);
  assert.match(lines[0]!, pattern);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  if (output) {
    assert.ok(!fs.existsSync(output), `${output} must not be written`);
    const leftovers = fs.readdirSync(path.dirname(output)).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'no temporary files left');
  }
}

describe('CLI on bad input', () => {
  let dir = '';
  let good = '';
  let out = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-cli-'));
    good = path.join(dir, 'good.onnx');
    saveModel(mlpWithClutter(), good);
    out = path.join(dir, 'out.onnx');
  });

  const write = (name: string, bytes: Uint8Array | string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };

  /** The good model saved with external data, then its first external location replaced. */
  const withLocation = (name: string, location: string) => {
    const sub = fs.mkdtempSync(path.join(dir, 'ext-'));
    const file = path.join(sub, name);
    saveModel(mlpWithClutter(), file, { externalData: 'external', threshold: 16 });
    const proto = decodeModel(fs.readFileSync(file), file);
    const t = proto.graph!.initializer!.find((i) => i.external_data?.length)!;
    t.external_data = t.external_data!.map((e) => (e.key === 'location' ? { key: 'location', value: location } : e));
    fs.writeFileSync(file, encodeMessage('ModelProto', proto));
    return file;
  };

  it('missing file', () => {
    assertCleanFailure(runCli(['optimize', path.join(dir, 'nope.onnx'), '-o', out, '--preset', 'cleanup']), 1, /nope\.onnx: no such file/, out);
  });

  it('a text file', () => {
    const f = write('notes.onnx', 'hello, this is not a model\n');
    assertCleanFailure(runCli(['optimize', f, '-o', out, '--preset', 'cleanup']), 1, /notes\.onnx: not/, out);
  });

  it('an empty file', () => {
    assertCleanFailure(runCli(['inspect', write('empty.onnx', '')]), 1, /empty/);
  });

  it('a truncated model', () => {
    const bytes = fs.readFileSync(good);
    const f = write('cut.onnx', bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    assertCleanFailure(runCli(['convert', f, '-o', out]), 1, /cut\.onnx/, out);
  });

  it('an IR version newer than supported', () => {
    const proto = decodeModel(fs.readFileSync(good), good);
    proto.ir_version = 99;
    const f = write('future.onnx', encodeMessage('ModelProto', proto));
    assertCleanFailure(runCli(['convert', f, '-o', out]), 1, /IR version 99 is newer than supported/, out);
  });

  it('a missing external data file', () => {
    const f = withLocation('m.onnx', 'gone.data');
    assertCleanFailure(runCli(['convert', f, '-o', out]), 1, /external data file 'gone\.data' is missing/, out);
  });

  it('an external data path outside the model folder', () => {
    const f = withLocation('m.onnx', '../good.onnx');
    assertCleanFailure(runCli(['convert', f, '-o', out]), 1, /outside the model's folder/, out);
  });

  it('an absolute external data path', () => {
    const f = withLocation('m.onnx', '/etc/passwd');
    assertCleanFailure(runCli(['convert', f, '-o', out]), 1, /is absolute/, out);
  });

  it('an unknown pass (usage error)', () => {
    assertCleanFailure(runCli(['optimize', good, '-o', out, '--passes', 'remove-identity,fold-everything']), 2, /unknown pass 'fold-everything'/, out);
  });

  it('an unknown option (usage error)', () => {
    const r = runCli(['optimize', good, '-o', out, '--preset', 'cleanup', '--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--frobnicate'/);
    assert.ok(!fs.existsSync(out));
  });

  it('output equal to the input', () => {
    const before = fs.readFileSync(good);
    assertCleanFailure(runCli(['optimize', good, '-o', good, '--preset', 'cleanup']), 2, /overwrite the input/);
    assert.deepEqual(fs.readFileSync(good), before);
  });

  it('a bad config file names the key', () => {
    const cfg = write('llmopt.config.json', JSON.stringify({ model: 'good.onnx', output: 'out.onnx', steps: [{ pass: 'dedupe-initializers', options: { maxBytes: 'big' } }] }));
    assertCleanFailure(runCli(['optimize', '--config', cfg]), 2, /options\.maxBytes/, out);
  });

  it('--debug adds the stack trace', () => {
    const r = runCli(['--debug', 'convert', path.join(dir, 'nope.onnx'), '-o', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\n\s+at /);
  });
});

describe('CLI happy paths', () => {
  it('optimize --json reports every step and writes a model that loads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-cli-ok-'));
    const input = path.join(dir, 'in.onnx');
    const output = path.join(dir, 'out.onnx');
    saveModel(mlpWithClutter(), input);
    const r = runCli(['--json', 'optimize', input, '-o', output, '--preset', 'cleanup', '--compare']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { steps: { pass: string; stats: Record<string, number> }[]; nodesBefore: number; nodesAfter: number; check: { maxAbs: number } };
    assert.equal(report.steps.length, 5);
    assert.equal(report.nodesBefore - report.nodesAfter, 2);
    assert.equal(report.check.maxAbs, 0);
    assert.ok(fs.statSync(output).size > 0);
  });

  it('convert moves weights to external data and back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-cli-conv-'));
    const input = path.join(dir, 'in.onnx');
    saveModel(mlpWithClutter(), input);
    const ext = path.join(dir, 'ext', 'model.onnx');
    fs.mkdirSync(path.dirname(ext));
    assert.equal(runCli(['convert', input, '-o', ext, '--external-data', '--threshold', '64']).code, 0);
    assert.ok(fs.existsSync(`${ext}.data`));
    const back = path.join(dir, 'back.onnx');
    assert.equal(runCli(['convert', ext, '-o', back, '--inline']).code, 0);
    assert.deepEqual(fs.readFileSync(back), fs.readFileSync(input));
  });

  it('passes --json lists passes with documented options', () => {
    const r = runCli(['passes', '--json']);
    assert.equal(r.code, 0);
    const data = JSON.parse(r.stdout) as { passes: { name: string }[]; presets: { name: string }[] };
    assert.ok(data.passes.some((p) => p.name === 'remove-identity'));
    assert.ok(data.presets.some((p) => p.name === 'default'));
  });
});
