/**
 * The real tiny models: a 2-block student from each 4-block teacher. The refit must lower the KL to the
 * teacher on held-out data by at least 20 % against plain block removal, and improve perplexity (llama) or
 * masked-LM accuracy (bert); the loss graph written beside the student must agree, on the student's own
 * logits and the teacher's soft labels, with the loss computed here from its definition.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { sharedFile, skipWithoutShared } from '../helpers/shared.js';
import { loadModel } from '../../src/io/load.js';
import { readNpz } from '../../src/data/npz.js';
import { runModel } from '../../src/runtime/session.js';
import type { Feeds, HostTensor } from '../../src/runtime/tensors.js';
import { DType } from '../../src/ir/dtype.js';

interface Quality { kind: string; perplexity?: number; accuracy?: number }
interface DistillJson {
  blocks: { kept: number[] };
  parameters: { teacher: number; student: number };
  evaluation: { dropped: { kl: number; quality: Quality }; fitted: { kl: number; quality: Quality }; klReduction: number };
  softLabels: { file: string; manifest: string; sha256: string };
  loss: { file: string };
}

/** α·T²·mean KL + (1 − α)·mean CE over labels ≠ −100, in float64 (top-k renormalized when `indices`). */
function referenceLoss(logits: Float32Array, vocab: number, soft: Float32Array, indices: BigInt64Array | undefined, labels: BigInt64Array, alpha: number, T: number): number {
  const k = indices ? soft.length / labels.length : vocab;
  let kl = 0, ce = 0, n = 0;
  for (let pos = 0; pos < labels.length; pos++) {
    if (labels[pos] === -100n) continue;
    const row = logits.subarray(pos * vocab, (pos + 1) * vocab);
    const lse = (t: number) => { const m = Math.max(...row) / t; return m + Math.log(row.reduce((s, x) => s + Math.exp(x / t - m), 0)); };
    const [zT, z1] = [lse(T), lse(1)];
    let total = 0;
    for (let j = 0; j < k; j++) total += soft[pos * k + j]!;
    const norm = indices ? total : 1;
    for (let j = 0; j < k; j++) {
      const p = soft[pos * k + j]! / norm;
      const v = indices ? Number(indices[pos * k + j]) : j;
      if (p > 0) kl += p * (Math.log(p) - (row[v]! / T - zT));
    }
    ce += z1 - row[Number(labels[pos])]!;
    n++;
  }
  return alpha * T * T * (kl / n) + (1 - alpha) * (ce / n);
}

async function checkLoss(student: string, r: DistillJson, alpha: number, T: number, topK: boolean): Promise<void> {
  const arrays = readNpz(r.softLabels.file);
  const model = loadModel(student);
  const feeds: Record<string, HostTensor> = {};
  for (const input of model.graph.inputs) feeds[input.name] = arrays.get(input.name) ?? { ...arrays.get('input_ids')!, data: new BigInt64Array((arrays.get('input_ids')!.data as BigInt64Array).length).fill(1n) };
  const logits = (await runModel(model, feeds)).logits!;
  const labels = arrays.get('labels')!;
  const soft = topK ? arrays.get('topk_values')! : arrays.get('probs')!;
  const lossFeeds: Feeds = {
    student_logits: logits, labels,
    ...(topK ? { teacher_topk_values: soft, teacher_topk_indices: arrays.get('topk_indices')! } : { teacher_probs: soft }),
  };
  const out = await runModel(loadModel(r.loss.file), lossFeeds);
  const got = (out.loss!.data as Float32Array)[0]!;
  const want = referenceLoss(logits.data as Float32Array, logits.dims[2]!, soft.data as Float32Array,
    topK ? (arrays.get('topk_indices')!.data as BigInt64Array) : undefined, labels.data as BigInt64Array, alpha, T);
  assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `loss ${got} vs reference ${want}`);
  assert.equal(logits.dtype, DType.FLOAT);
}

describe('distill on the shared tiny models', { skip: skipWithoutShared }, () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-distill-shared-')); });

  it('llama-tiny -> 2 blocks: refit lowers KL by >= 20 % and perplexity; files and loss graph agree', async () => {
    const out = path.join(dir, 'llama2.onnx');
    const res = runCli(['--json', 'distill', sharedFile('llama-tiny.onnx'), '-o', out, '--layers', '2',
      '--calib', sharedFile('calib_ids.npy'), '--eval', sharedFile('eval_ids.npy'),
      '--data', sharedFile('eval_ids.npy'), '--data-rows', '4', '--temperature', '2', '--export-loss', '--alpha', '0.5']);
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as DistillJson;
    assert.deepEqual(r.blocks.kept, [0, 2]);
    assert.ok(r.parameters.student < 0.6 * r.parameters.teacher);
    const { dropped, fitted } = r.evaluation;
    assert.ok(fitted.kl <= 0.8 * dropped.kl, `KL ${dropped.kl} -> ${fitted.kl}`);
    assert.ok(fitted.quality.perplexity! < dropped.quality.perplexity!, `perplexity ${dropped.quality.perplexity} -> ${fitted.quality.perplexity}`);
    for (const f of [out, r.softLabels.file, r.softLabels.manifest, r.loss.file]) assert.ok(fs.existsSync(f), f);
    const manifest = JSON.parse(fs.readFileSync(r.softLabels.manifest, 'utf8')) as { labelsFile: { sha256: string }; temperature: number; labels: string };
    assert.equal(manifest.labelsFile.sha256, r.softLabels.sha256);
    assert.equal(manifest.labels, 'next-token');
    await checkLoss(out, r, 0.5, 2, false);
  });

  it('bert-tiny -> 2 blocks by importance: refit lowers KL by >= 20 % and raises MLM accuracy; top-k loss agrees', async () => {
    const out = path.join(dir, 'bert2.onnx');
    const res = runCli(['--json', 'distill', sharedFile('bert-tiny.onnx'), '-o', out, '--layers', '2', '--select', 'importance',
      '--calib', sharedFile('calib_ids.npy'), '--eval', sharedFile('mlm_eval_inputs.npy'), '--labels', sharedFile('mlm_eval_labels.npy'),
      '--data', sharedFile('mlm_eval_inputs.npy'), '--data-labels', sharedFile('mlm_eval_labels.npy'), '--data-rows', '4',
      '--top-k', '16', '--temperature', '3', '--export-loss', '--alpha', '0.3']);
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as DistillJson;
    assert.equal(r.blocks.kept.length, 2);
    const { dropped, fitted } = r.evaluation;
    assert.ok(fitted.kl <= 0.8 * dropped.kl, `KL ${dropped.kl} -> ${fitted.kl}`);
    assert.ok(fitted.quality.accuracy! > dropped.quality.accuracy!, `accuracy ${dropped.quality.accuracy} -> ${fitted.quality.accuracy}`);
    await checkLoss(out, r, 0.3, 3, true);
  });
});
