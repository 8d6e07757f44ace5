import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, ROOT } from '../helpers/cli.js';
import { writeIdsNpy } from '../helpers/npy.js';
import type { BenchResult } from '../../src/bench/result.js';
import { saveModel } from '../../src/io/save.js';
import { cacheModel } from '../bench/cache-model.js';

const LLAMA = path.join(ROOT, 'fixtures/models/tiny-llama.onnx');
const GPT2 = path.join(ROOT, 'fixtures/models/tiny-gpt2.onnx');
const BERT = path.join(ROOT, 'fixtures/models/tiny-bert.onnx');

function bench(args: readonly string[]): BenchResult {
  const r = runCli(['--json', 'bench', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as BenchResult;
}

/** Every tag opened inside an <svg> is closed in order (self-closing tags aside). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (!m[1]) stack.push(m[2]!);
    else if (stack.pop() !== m[2]) return false;
  }
  return stack.length === 0;
}

describe('llmopt bench', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-bench-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a decoder: latency percentiles, decode speed, memory and size (--json)', () => {
    const r = bench([LLAMA, '--runs', '3', '--warmup', '1', '--seq', '16', '--new-tokens', '3']);
    assert.deepEqual(Object.keys(r), ['settings', 'models', 'latency', 'decode', 'accuracy', 'warnings']);
    const [m] = r.models;
    assert.equal(r.models.length, 1);
    assert.equal(m!.kind, 'decoder');
    assert.equal(m!.bytes, fs.statSync(LLAMA).size);
    assert.ok(m!.parameters.total > 0 && m!.parameters.byDtype.some((d) => d.dtype === 'float'));
    assert.ok(m!.createMs > 0 && m!.memory.peakRssBytes >= m!.memory.rssBeforeBytes);
    assert.equal(m!.memory.method, 'in-process');
    const l = r.latency[0]!;
    assert.deepEqual([r.latency.length, l.batch, l.seq, l.model.runs, l.model.samples.length], [1, 1, 16, 3, 3]);
    assert.ok(l.model.min <= l.model.p50 && l.model.p50 <= l.model.p90 && l.model.p90 <= l.model.p99 && l.model.p99 <= l.model.max);
    assert.equal(l.baseline, undefined);
    const d = r.decode[0]!;
    assert.equal(d.model.msPerToken.runs, 3);
    assert.equal(d.model.cache, false);
    assert.ok(d.model.tokensPerSecond > 0);
    assert.equal(r.accuracy, null);
  });

  it('an encoder against a baseline: one row per batch × seq, interleaved, speedup; no decode', () => {
    const r = bench([BERT, '--baseline', BERT, '--runs', '3', '--warmup', '0', '--batch', '1,2', '--seq', '8']);
    assert.deepEqual(r.models.map((m) => [m.role, m.kind]), [['model', 'encoder'], ['baseline', 'encoder']]);
    assert.deepEqual(r.latency.map((l) => [l.batch, l.seq]), [[1, 8], [2, 8]]);
    for (const l of r.latency) {
      assert.equal(l.baseline!.runs, 3);
      assert.ok(l.speedup!.low <= l.speedup!.high && l.speedup!.value > 0);
      assert.ok(l.pairRatio!.p10 <= l.pairRatio!.p90);
    }
    assert.deepEqual(r.decode, []);
    assert.equal(r.accuracy!.source, 'synthetic');
    assert.equal(r.accuracy!.agreement!.maxAbs, 0);
    assert.equal(r.accuracy!.agreement!.top1Agreement, 1);
  });

  it('--data against a baseline, with JSON, Markdown and HTML files', () => {
    const ids = path.join(dir, 'ids.npy');
    writeIdsNpy(ids, 3, 12, 200, 37, 11);
    const files = { json: path.join(dir, 'r.json'), md: path.join(dir, 'r.md'), html: path.join(dir, 'r.html') };
    const r = bench([LLAMA, '--baseline', GPT2, '--runs', '3', '--warmup', '0', '--seq', '12', '--new-tokens', '2', '--data', ids,
      '--json-file', files.json, '--markdown', files.md, '--html', files.html]);
    assert.deepEqual(JSON.parse(fs.readFileSync(files.json, 'utf8')), r);
    const a = r.accuracy!;
    assert.equal(a.source, 'data');
    assert.equal(a.rows, 3);
    assert.ok(a.model?.kind === 'perplexity' && a.baseline?.kind === 'perplexity');
    assert.ok(a.model.kind === 'perplexity' && a.model.tokens === 3 * 11 && a.model.perplexity > 1);
    assert.ok(a.agreement!.maxAbs > 0 && a.agreement!.positions === 36);
    assert.ok(r.decode[0]!.speedup!.value > 0);
    assert.match(fs.readFileSync(files.md, 'utf8'), /## Latency \(ms\)[\s\S]*\| 1 \| 12 \| model \|/);
    const html = fs.readFileSync(files.html, 'utf8');
    const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    assert.equal(svgs.length, 2);
    assert.ok(svgs.every(balanced));
    assert.equal((svgs[0]!.match(/<g class="box">/g) ?? []).length, 2);
    assert.equal((svgs[1]!.match(/<rect /g) ?? []).length, 2 * 5);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('a decoder with a key/value cache decodes through it', () => {
    const file = path.join(dir, 'cache.onnx');
    saveModel(cacheModel(), file);
    const r = bench([file, '--runs', '2', '--warmup', '0', '--seq', '6', '--new-tokens', '4']);
    assert.equal(r.models[0]!.kind, 'decoder');
    assert.equal(r.models[0]!.kvCache, true);
    assert.equal(r.decode[0]!.model.cache, true);
    assert.equal(r.decode[0]!.model.msPerToken.runs, 4);
    const plain = bench([file, '--runs', '1', '--warmup', '0', '--seq', '6', '--new-tokens', '2', '--no-cache']);
    assert.equal(plain.decode[0]!.model.cache, false);
  });

  it('a time budget and isolated memory', () => {
    const r = bench([LLAMA, '--seconds', '0.2', '--warmup', '0', '--seq', '8', '--new-tokens', '0', '--isolate']);
    assert.ok(r.latency[0]!.model.runs >= 3);
    assert.equal(r.settings.runs, null);
    assert.equal(r.settings.seconds, 0.2);
    assert.equal(r.models[0]!.memory.method, 'isolated');
    assert.ok(r.models[0]!.memory.peakDeltaBytes > 0);
    assert.deepEqual(r.decode, []);
  });

  it('bad input: one line on stderr and a non-zero exit', () => {
    const cases: [readonly string[], number, RegExp][] = [
      [['bench', path.join(dir, 'missing.onnx')], 1, /missing\.onnx: no such file/],
      [['bench', LLAMA, '--batch', '1,0'], 2, /--batch expects comma-separated whole numbers/],
      [['bench', LLAMA, '--seq', 'abc'], 2, /--seq expects/],
      [['bench', LLAMA, '--ep', 'tpu'], 2, /--ep must be one of cpu, cuda, tensorrt, openvino/],
      [['bench', LLAMA, '--ep', 'openvino'], 1, /'openvino' is not available.*--use_openvino/],
      [['bench', LLAMA, '--runs', '3', '--seconds', '1'], 2, /--runs or --seconds, not both/],
      [['bench', LLAMA, '--labels', path.join(dir, 'l.npy')], 2, /--labels needs --data/],
      [['bench', GPT2, '--seq', '1000', '--runs', '1', '--new-tokens', '0'], 1, /onnxruntime failed to run the model: .*out of data bounds/],
    ];
    for (const [args, code, message] of cases) {
      const r = runCli(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });
});
