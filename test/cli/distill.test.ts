import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { runCli } from '../helpers/cli.js';
import { MODELS_DIR } from '../../fixtures/build/index.js';
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { newModel, randomWeight } from '../helpers/tiny.js';
import { DType } from '../../src/ir/dtype.js';
import { detectTransformer } from '../../src/analysis/transformer.js';
import { writeIds, writeNpy } from '../distill/helpers.js';

const LLAMA = path.join(MODELS_DIR, 'tiny-llama.onnx');

interface Json {
  blocks: { teacher: number; kept: number[]; removed: number[]; spans: { block: number; from: number; to: number }[] };
  parameters: { teacher: number; student: number };
  fit: { enabled: boolean; steps: unknown[] };
  evaluation: { dropped: { kl: number }; fitted: { kl: number } | null; klReduction: number | null };
  softLabels: { file: string; manifest: string; sha256: string; bytes: number };
  loss: { file: string } | null;
}

describe('llmopt distill', () => {
  let dir = '';
  let ids = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-distill-cli-'));
    ids = path.join(dir, 'ids.npy');
    writeIds(ids, 6, 16, 256, 3);
  });

  /** A fresh output folder, so that "nothing written" can be checked by listing it. */
  const outDir = (name: string) => fs.mkdtempSync(path.join(dir, `${name}-`));

  it('writes the student, safetensors soft labels with a manifest, and a top-k loss graph (--json)', () => {
    const out = outDir('ok');
    const student = path.join(out, 'student.onnx');
    const r = runCli(['--json', 'distill', LLAMA, '-o', student, '--keep-layers', '1', '--calib', ids, '--eval', ids,
      '--data', ids, '--top-k', '4', '--index-type', 'int32', '--hidden-states', '0', '--format', 'safetensors', '--export-loss', path.join(out, 'loss.onnx')]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Json;
    assert.deepEqual(j.blocks.kept, [1]);
    assert.deepEqual(j.blocks.removed, [0]);
    assert.deepEqual(j.blocks.spans, [{ block: 1, from: 0, to: 1 }]);
    assert.ok(j.parameters.student < j.parameters.teacher);
    assert.equal(j.fit.steps.length, 2);
    assert.ok(j.evaluation.fitted && Number.isFinite(j.evaluation.fitted.kl) && j.evaluation.klReduction !== null);
    assert.equal(j.softLabels.file, path.join(out, 'student.soft-labels.safetensors'));
    const bytes = fs.readFileSync(j.softLabels.file);
    assert.equal(j.softLabels.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));
    const manifest = JSON.parse(fs.readFileSync(j.softLabels.manifest, 'utf8')) as Record<string, unknown> & { teacher: { file: string; sha256: string }[]; arrays: { name: string; dtype: string; shape: number[] }[] };
    assert.equal(manifest.topK, 4);
    assert.equal(manifest.indexType, 'int32');
    assert.equal(manifest.temperature, 2);
    assert.equal(manifest.teacher[0]!.sha256, crypto.createHash('sha256').update(fs.readFileSync(LLAMA)).digest('hex'));
    assert.deepEqual(manifest.arrays.map((a) => `${a.name}:${a.dtype}:${a.shape.join('x')}`),
      ['input_ids:int64:6x16', 'labels:int64:6x16', 'topk_values:float32:6x16x4', 'topk_indices:int32:6x16x4', 'hidden_0:float32:6x16x128']);
    const loss = loadModel(path.join(out, 'loss.onnx'));
    assert.deepEqual(loss.graph.inputs.map((v) => `${v.name}:${v.type?.elemType}`),
      [`student_logits:${DType.FLOAT}`, `teacher_topk_values:${DType.FLOAT}`, `teacher_topk_indices:${DType.INT32}`, `labels:${DType.INT64}`]);
    const s = loadModel(student);
    assert.deepEqual(s.graph.inputs.map((v) => v.name), ['input_ids']);
    assert.deepEqual(s.graph.outputs.map((v) => v.name), ['logits']);
    assert.deepEqual(fs.readdirSync(out).sort(), ['loss.onnx', 'student.onnx', 'student.soft-labels.safetensors', 'student.soft-labels.safetensors.json']);
  });

  it('prints the report table, and removes blocks alone with --no-fit', () => {
    const out = outDir('text');
    const r = runCli(['distill', LLAMA, '-o', path.join(out, 's.onnx'), '--layers', '1', '--no-fit', '--eval', ids]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Kept blocks/);
    assert.match(r.stdout, /refit: off/);
    assert.match(r.stdout, /blocks removed\s+\d+\s+[\d.]+\s+perplexity/);
    assert.doesNotMatch(r.stdout, /after refit/);
  });

  it('narrows the kept blocks with the structured pruning pass (--ffn-ratio, --heads)', () => {
    const out = outDir('narrow');
    const student = path.join(out, 's.onnx');
    const r = runCli(['--json', 'distill', LLAMA, '-o', student, '--keep-layers', '0', '--ffn-ratio', '0.5', '--heads', '2', '--calib', ids]);
    assert.equal(r.code, 0, r.stderr);
    const teacherBlock = detectTransformer(loadModel(LLAMA)).blocks[0]!;
    const block = detectTransformer(loadModel(student)).blocks[0]!;
    assert.equal(block.mlp!.width, teacherBlock.mlp!.width! / 2);
    assert.equal(block.attention[0]!.heads, 2);
    const j = JSON.parse(r.stdout) as Json & { narrowed: Record<string, number> };
    assert.equal(j.narrowed.headsRemoved, 2);
    assert.equal(j.fit.steps.length, 2);
  });

  it('refuses a model without transformer blocks (exit 1)', () => {
    const model = newModel();
    const x = model.graph.addInput('input_ids', { elemType: DType.INT64, shape: ['batch', 'sequence'] });
    const e = model.graph.addNode({ opType: 'Gather', inputs: [randomWeight(model, 'embed', [256, 8], 1), x] }).output(0);
    const y = model.graph.addNode({ opType: 'MatMul', inputs: [e, randomWeight(model, 'head', [8, 256], 2)], outputs: ['logits'] }).output(0);
    y.type = { elemType: DType.FLOAT, shape: ['batch', 'sequence', 256] };
    model.graph.outputs.push(y);
    const file = path.join(dir, 'flat.onnx');
    saveModel(model, file);
    const out = outDir('flat');
    const r = runCli(['distill', file, '-o', path.join(out, 's.onnx'), '--layers', '1', '--no-fit']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^llmopt: no transformer blocks found/);
    assert.deepEqual(fs.readdirSync(out), []);
  });

  const bad: [string, (out: string) => string[], RegExp][] = [
    ['layers out of range', (o) => ['--keep-layers', '0,5', '--no-fit', '-o', o], /--keep-layers: '5' is not a block index of the teacher \(it has 2 blocks: 0\.\.1\)/],
    ['too many layers', (o) => ['--layers', '3', '--no-fit', '-o', o], /--layers must be a whole number from 1 to 2/],
    ['no layers', (o) => ['--no-fit', '-o', o], /say which blocks the student keeps/],
    ['temperature <= 0', (o) => ['--layers', '1', '--no-fit', '--data', 'IDS', '--temperature', '0', '-o', o], /--temperature must be greater than 0/],
    ['top-k above the vocabulary', (o) => ['--layers', '1', '--no-fit', '--data', 'IDS', '--top-k', '300', '-o', o], /--top-k 300 is larger than the teacher's vocabulary \(256\)/],
    ['data not matching the inputs', (o) => ['--layers', '1', '--no-fit', '--data', 'FLOATS', '-o', o], /'input_ids' is float, the model expects int64/],
    ['refit without calibration data', (o) => ['--layers', '1', '-o', o], /needs calibration data: pass --calib DATA or --no-fit/],
    ['hidden state of no block', (o) => ['--layers', '1', '--no-fit', '--data', 'IDS', '--hidden-states', '2', '-o', o], /--hidden-states: 2 is not a block of the teacher/],
    ['an MLP fraction outside (0, 1)', (o) => ['--layers', '1', '--no-fit', '--ffn-ratio', '1.5', '-o', o], /--ffn-ratio is the fraction of MLP channels kept, in \(0, 1\)/],
    ['as many heads as the teacher has', (o) => ['--layers', '1', '--no-fit', '--heads', '4', '-o', o], /--heads 4 keeps every head or more \(the teacher has 4 per block\)/],
  ];
  for (const [name, args, message] of bad) {
    it(`refuses ${name}: one line, exit 2, nothing written`, () => {
      const floats = path.join(dir, 'floats.npy');
      writeNpy(floats, '<f4', [2, 4], new Uint8Array(32));
      const out = outDir('bad');
      const argv = args(path.join(out, 's.onnx')).map((a) => (a === 'IDS' ? ids : a === 'FLOATS' ? floats : a));
      const r = runCli(['distill', LLAMA, ...argv]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.deepEqual(fs.readdirSync(out), []);
    });
  }

  it('leaves nothing behind when the teacher fails half way through the soft labels (exit 1)', () => {
    // Rows 8 and 9 hold a token id past the embedding table: the second batch fails, after the file was opened.
    const file = path.join(dir, 'late-bad.npy');
    const good = writeIds(path.join(dir, 'tmp.npy'), 10, 16, 256, 5);
    good.fill(999n, 8 * 16);
    writeNpy(file, '<i8', [10, 16], new Uint8Array(good.buffer));
    const out = outDir('late');
    const r = runCli(['distill', LLAMA, '-o', path.join(out, 's.onnx'), '--layers', '1', '--no-fit', '--data', file, '--export-loss']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^llmopt: onnxruntime failed/m);
    assert.deepEqual(fs.readdirSync(out), []);
  });
});
