/**
 * The target matrix: every mode of `llmopt quantize` and the fuse preset, for every target, on the three
 * shared exporter models. Each output must have no `llmopt check` finding for its target, no com.microsoft
 * op where the target takes none, an opset and IR version the target's runtime reads, and must run in
 * onnxruntime-node CPU close to the float model (tolerances in docs/targets.md, `TOLERANCE` below).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/io/load.js';
import { runCli } from '../helpers/cli.js';
import { TARGETS, type Target } from '../../src/pipeline/pass.js';
import { profileFor } from '../../src/targets/index.js';
import { irVersionFor } from '../../src/targets/rules/model.js';
import { sharedFile, skipWithoutShared } from '../helpers/shared.js';
import { SHARED_MODEL_NAMES, sharedModel, type SharedModelName } from './shared-data.js';
import { MATRIX_MODES, judgeCell, makeCell, type CellFigures, type MatrixMode, type Precision } from './matrix-cells.js';

/**
 * maxAbs: logits against the float model's (absolute); cosine: their smallest cosine similarity; drop:
 * relative loss of perplexity or masked-LM accuracy on the evaluation rows.
 */
const TOLERANCE: Readonly<Record<Precision, { readonly maxAbs: number; readonly cosine: number; readonly drop: number }>> = {
  float32: { maxAbs: 1e-4, cosine: 0.999999, drop: 1e-4 },
  float16: { maxAbs: 5e-2, cosine: 0.9999, drop: 5e-3 },
  int8: { maxAbs: Infinity, cosine: 0.997, drop: 0.05 },
  int4: { maxAbs: Infinity, cosine: 0.99, drop: 0.05 },
};

function assertCell(f: CellFigures, target: Target): void {
  const profile = profileFor(target);
  assert.deepEqual(f.findings.map((x) => `${x.severity} ${x.rule} ${x.op ?? ''}: ${x.message}`), [], 'check findings');
  if (!profile.domains.includes('com.microsoft')) assert.deepEqual(f.microsoftOps, [], 'com.microsoft ops');
  assert.ok(f.opset <= profile.maxOpset.value, `opset ${f.opset} above ${profile.maxOpset.value}`);
  assert.ok(f.irVersion >= (irVersionFor(f.opset) ?? 0), `IR ${f.irVersion} too old for opset ${f.opset}`);
  assert.ok(f.irVersion <= profile.maxIrVersion.value, `IR ${f.irVersion} above ${profile.maxIrVersion.value}`);
  const tol = TOLERANCE[f.precision];
  assert.ok(f.maxAbs <= tol.maxAbs, `${f.precision}: logits differ by ${f.maxAbs} > ${tol.maxAbs}`);
  assert.ok(f.cosine >= tol.cosine, `${f.precision}: logits cosine ${f.cosine} < ${tol.cosine}`);
  assert.ok(f.drop <= tol.drop, `${f.precision}: quality drop ${(f.drop * 100).toFixed(3)} % > ${tol.drop * 100} %`);
}

describe('target matrix (shared models)', { skip: skipWithoutShared }, () => {
  for (const name of SHARED_MODEL_NAMES) {
    for (const mode of MATRIX_MODES) {
      for (const target of TARGETS) {
        it(`${name} ${mode} for ${target}`, async (t) => {
          const source = await sharedModel(name);
          const output = await makeCell(source, target, mode);
          const f = await judgeCell(source, target, mode, output);
          t.diagnostic(`${name} ${mode} ${target}: ${f.precision}, opset ${f.opset}, IR ${f.irVersion}, max abs ${f.maxAbs.toExponential(2)}, cosine ${f.cosine.toFixed(5)}, quality ${f.quality.toFixed(4)}, drop ${(f.drop * 100).toFixed(3)} %`);
          assertCell(f, target);
        });
      }
    }
  }
});

/** Cells made by the command line itself, as a user runs it; judged like the in-process cells. */
const CLI_CELLS: readonly { name: SharedModelName; target: Target; mode: MatrixMode; args: readonly string[] }[] = [
  { name: 'gpt2-tiny', target: 'tensorrt', mode: 'fuse', args: ['optimize', '--preset', 'fuse'] },
  { name: 'llama-tiny', target: 'tensorrt', mode: 'dynamic', args: ['quantize', '--mode', 'dynamic'] },
  { name: 'llama-tiny', target: 'cuda', mode: 'static', args: ['quantize', '--mode', 'static', '--calib', sharedFile('calib_ids.npy'), '--calib-rows', '4'] },
  { name: 'bert-tiny', target: 'openvino', mode: 'weight-only-4', args: ['quantize', '--mode', 'weight-only', '--bits', '4', '--block-size', '32'] },
];

describe('target matrix through the command line', { skip: skipWithoutShared }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-matrix-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const cell of CLI_CELLS) {
    it(`llmopt ${cell.args[0]} ${cell.name} (${cell.mode}) --target ${cell.target}, then llmopt check --target ${cell.target}`, async () => {
      const [command, ...rest] = cell.args;
      const output = path.join(dir, `${cell.name}.${cell.mode}.${cell.target}.onnx`);
      const made = runCli(['--quiet', command!, sharedFile(`${cell.name}.onnx`), '-o', output, ...rest, '--target', cell.target]);
      assert.equal(made.code, 0, made.stderr);
      const checked = runCli(['--json', 'check', output, '--target', cell.target]);
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      assert.deepEqual((JSON.parse(checked.stdout) as { findings: unknown[] }).findings, []);
      assertCell(await judgeCell(await sharedModel(cell.name), cell.target, cell.mode, loadModel(output)), cell.target);
    });
  }

  for (const target of ['cpu', 'openvino'] as const) {
    it(`llmopt quantize --mode bf16 --target ${target} is refused with the reason and the mode to use`, () => {
      const r = runCli(['quantize', sharedFile('gpt2-tiny.onnx'), '-o', path.join(dir, `bf16.${target}.onnx`), '--mode', 'bf16', '--target', target]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /no bfloat16 kernels.*--mode fp16/);
      assert.ok(!fs.existsSync(path.join(dir, `bf16.${target}.onnx`)));
    });
  }
});
