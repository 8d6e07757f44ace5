import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, ROOT } from '../helpers/cli.js';
import { writeIdsNpy } from '../helpers/npy.js';
import { loadModel } from '../../src/io/load.js';
import { countParameters } from '../../src/analysis/parameters.js';
import { detectTransformer } from '../../src/analysis/transformer.js';
import { Session } from '../../src/runtime/session.js';
import { DType } from '../../src/ir/dtype.js';
import type { Feeds, HostTensor } from '../../src/runtime/tensors.js';

const LLAMA = path.join(ROOT, 'fixtures/models/tiny-llama.onnx');
const BERT = path.join(ROOT, 'fixtures/models/tiny-bert.onnx');

interface BlockJson {
  block: number; removed: boolean; headsBefore?: number; headsAfter?: number; channelsBefore?: number; channelsAfter?: number;
  paramsBefore: number; paramsAfter: number; relativeError?: number;
}
interface StructuredJson {
  method: string;
  totals: { paramsBefore: number; paramsAfter: number; removedFraction: number };
  outputError?: { value: string; relativeError: number };
  bytesBefore: number;
  bytesAfter: number;
  baseline?: { perplexity: number };
  quality?: { perplexity: number };
  blocks: BlockJson[];
  linears: { layer: string; paramsBefore: number; paramsAfter: number }[];
}

function tokens(inputs: readonly string[], rows: number, seq: number): Feeds {
  const feeds: Record<string, HostTensor> = {};
  for (const name of inputs) {
    const data = BigInt64Array.from({ length: rows * seq }, (_, i) => BigInt(name === 'attention_mask' ? 1 : (i * 5 + 1) % 200));
    feeds[name] = { dtype: DType.INT64, dims: [rows, seq], data };
  }
  return feeds;
}

/** Runs the file in onnxruntime for two sequence lengths; returns the logits of the first. */
async function runsInOnnxruntime(file: string): Promise<Float32Array> {
  const model = loadModel(file);
  const session = await Session.fromFile(file);
  try {
    let first: Float32Array | undefined;
    for (const seq of [7, 12]) {
      const out = await session.run(tokens(model.graph.inputs.map((v) => v.name), 2, seq));
      const logits = Object.values(out)[0]!;
      assert.deepEqual(logits.dims.slice(0, 2), [2, seq]);
      const data = logits.data as Float32Array;
      assert.ok(data.every(Number.isFinite), 'finite logits');
      first ??= data;
    }
    return first!;
  } finally {
    await session.release();
  }
}

function floatWeights(file: string): number {
  return loadModel(file).graph.initializers.reduce((n, v) => n + (v.initializer?.dtype === DType.FLOAT ? v.initializer.elementCount : 0), 0);
}

function fileBytes(file: string): number {
  return fs.statSync(file).size + (fs.existsSync(`${file}.data`) ? fs.statSync(`${file}.data`).size : 0);
}

describe('llmopt prune --method structured', () => {
  let dir = '';
  let ids = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-prune-structured-'));
    ids = path.join(dir, 'ids.npy');
    writeIdsNpy(ids, 8, 16, 256);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('llama: heads, FFN channels and a block removed; the report matches the written file (--json)', async () => {
    const out = path.join(dir, 'llama.onnx');
    const r = runCli(['--json', 'prune', LLAMA, '-o', out, '--method', 'structured', '--heads', '2', '--ffn-ratio', '0.25', '--layers', '1', '--calib', ids, '--eval', ids]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as StructuredJson;
    const written = loadModel(out);
    assert.equal(report.totals.paramsAfter, countParameters(written).total);
    assert.equal(report.totals.paramsBefore, countParameters(loadModel(LLAMA)).total);
    assert.ok(report.totals.paramsAfter < report.totals.paramsBefore);
    assert.equal(report.bytesAfter, fileBytes(out));
    assert.ok(fileBytes(out) < fileBytes(LLAMA), 'the output file is smaller');
    const [kept, removed] = report.blocks;
    assert.equal(removed!.removed, true);
    assert.equal(removed!.paramsAfter, 0);
    assert.equal(kept!.headsAfter, kept!.headsBefore! - 2);
    assert.ok(kept!.channelsAfter! < kept!.channelsBefore!, 'FFN channels removed');
    const blocks = detectTransformer(written).blocks;
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.mlp?.down[0]?.k, kept!.channelsAfter, 'the down projection reads the kept channels');
    assert.ok(kept!.relativeError! > 0 && Number.isFinite(kept!.relativeError));
    assert.ok(report.outputError!.relativeError > 0);
    assert.ok(report.quality!.perplexity > 1 && report.baseline!.perplexity > 1);
    await runsInOnnxruntime(out);
  });

  it('llama: FFN channels by norm, no data: the same logits with and without --no-verify', async () => {
    const a = path.join(dir, 'ffn-a.onnx');
    const b = path.join(dir, 'ffn-b.onnx');
    for (const [out, extra] of [[a, []], [b, ['--no-verify']]] as const) {
      const r = runCli(['--json', 'prune', LLAMA, '-o', out, '--method', 'structured', '--ffn-ratio', '0.5', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as StructuredJson;
      assert.equal(report.outputError, undefined, 'no data: no error figure');
      assert.ok(report.blocks.every((x) => x.channelsAfter === x.channelsBefore! / 2 && x.headsAfter === x.headsBefore));
      assert.equal(report.linears.length, 3 * report.blocks.length, 'gate, up and down of every block');
      assert.ok(report.linears.every((l) => l.paramsAfter === l.paramsBefore / 2));
      const removed = (rows: { paramsBefore: number; paramsAfter: number }[]) => rows.reduce((n, x) => n + x.paramsBefore - x.paramsAfter, 0);
      assert.equal(removed(report.linears), removed(report.blocks), 'llama has no biases: the blocks lose exactly the linear weights');
    }
    assert.deepEqual(await runsInOnnxruntime(a), await runsInOnnxruntime(b));
  });

  it('bert: half the heads and FFN channels; runs with its attention mask', async () => {
    const out = path.join(dir, 'bert.onnx');
    const r = runCli(['--json', 'prune', BERT, '-o', out, '--method', 'structured', '--heads', '0.5', '--ffn-ratio', '0.5']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as StructuredJson;
    assert.equal(report.totals.paramsAfter, countParameters(loadModel(out)).total);
    assert.ok(report.blocks.every((x) => x.headsAfter === x.headsBefore! / 2 && x.paramsAfter < x.paramsBefore));
    assert.equal(report.blocks.reduce((n, x) => n + x.paramsBefore - x.paramsAfter, 0), floatWeights(BERT) - floatWeights(out),
      'every float weight removed belongs to a block');
    await runsInOnnxruntime(out);
  });

  it('refuses bad input with one line and exit 2, writing nothing', () => {
    const out = path.join(dir, 'bad.onnx');
    const cases: [string[], RegExp][] = [
      [['--ffn-ratio', '0.25', '--sparsity', '0.5'], /--sparsity does not apply to --method structured/],
      [['--ffn-ratio', '0.25', '--pattern', '2:4'], /--pattern does not apply to --method structured/],
      [[], /needs what to remove: --heads H, --ffn-ratio R and\/or --layers/],
      [['--options', '{"ridge": 0.1}'], /needs what to remove/],
      [['--ffn-ratio', '0.25', '--scope', 'layer'], /--scope does not apply to --method structured/],
      [['--heads', '1'], /--heads 1: block 0 has 4 heads, removed in whole key\/value groups of 2/],
      [['--heads', '4'], /at least 2 must stay/],
      [['--layers', '1,5'], /--layers 5: the model has 2 blocks \(0-1\)/],
      [['--layers', '0,1'], /would remove all 2 blocks/],
      [['--layers', 'one'], /--layers expects block indices/],
      [['--ffn-ratio', '1'], /--ffn-ratio must be in \(0, 1\)/],
      [['--ffn-ratio', '0.2', '--importance', 'activation'], /--importance activation .* give --calib/],
      [['--ffn-ratio', '0.2', '--importance', 'random'], /--importance must be one of auto, norm, activation/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(['prune', LLAMA, '-o', out, '--method', 'structured', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const other = runCli(['prune', LLAMA, '-o', out, '--method', 'magnitude', '--sparsity', '0.5', '--heads', '2']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--heads does not apply to --method magnitude/);
    assert.ok(!fs.existsSync(out));
  });

  it('--help explains the structured options with an example', () => {
    const r = runCli(['prune', '--help']);
    assert.equal(r.code, 0);
    for (const flag of ['--heads', '--ffn-ratio', '--layers', '--importance']) assert.match(r.stdout, new RegExp(flag));
    assert.match(r.stdout, /Examples:[\s\S]*--method structured --ffn-ratio 0.25/);
  });
});
