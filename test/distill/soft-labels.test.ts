import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLlama } from '../../fixtures/build/index.js';
import type { Model } from '../../src/ir/model.js';
import { mapBlocks } from '../../src/distill/boundaries.js';
import { writeSoftLabels } from '../../src/distill/soft-labels.js';
import { readDataset, batchFeeds, type Dataset } from '../../src/data/dataset.js';
import { readNpz } from '../../src/data/npz.js';
import { captureValues } from '../../src/runtime/capture.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { writeIds } from './helpers.js';

const config = { layers: 2, hidden: 32, heads: 2, kvHeads: 1, ffn: 64, vocab: 40, maxPositions: 16 } as const;
const [ROWS, SEQ, T] = [5, 8, 2];

describe('teacher soft labels', () => {
  let dir = '';
  let teacher: Model;
  let data: Dataset;
  let ids: BigInt64Array;
  let logits: Float32Array;
  let hidden1: Float32Array;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-soft-'));
    teacher = buildLlama(config);
    const file = path.join(dir, 'ids.npy');
    ids = writeIds(file, ROWS, SEQ, config.vocab, 2);
    data = readDataset(file, teacher);
    const block1 = mapBlocks(teacher).blocks[1]!.output;
    const out = await captureValues(teacher, ['logits', block1], batchFeeds(data, teacher, 0, ROWS));
    logits = out.logits!.data as Float32Array;
    hidden1 = out[block1]!.data as Float32Array;
  });

  const request = (file: string, extra: Partial<Parameters<typeof writeSoftLabels>[1]> = {}) => ({
    file, format: 'npz' as const, data, batchSize: 2, temperature: T, indexType: 'int64' as const,
    hidden: new Map<number, string>(), nextTokenLabels: true, ...extra,
  });

  it('stores softmax(logits / T) for every position, in batches that do not divide the rows', async () => {
    const file = path.join(dir, 'full.npz');
    const r = await writeSoftLabels(teacher, request(file));
    assert.equal(r.vocab, config.vocab);
    const arrays = readNpz(file);
    assert.deepEqual([...arrays.keys()], ['input_ids', 'labels', 'probs']);
    const probs = arrays.get('probs')!;
    assert.deepEqual(probs.dims, [ROWS, SEQ, config.vocab]);
    let worst = 0;
    for (let at = 0; at < logits.length; at += config.vocab) {
      const row = logits.subarray(at, at + config.vocab);
      const m = Math.max(...row);
      const z = row.reduce((s, x) => s + Math.exp((x - m) / T), 0);
      for (let v = 0; v < config.vocab; v++) worst = Math.max(worst, Math.abs((probs.data as Float32Array)[at + v]! - Math.exp((row[v]! - m) / T) / z));
    }
    assert.ok(worst < 1e-6, `max difference ${worst}`);
    assert.deepEqual(Array.from(arrays.get('input_ids')!.data as BigInt64Array), Array.from(ids));
  });

  it('labels a decoder\'s positions with the next token, -100 at the end', async () => {
    const arrays = readNpz(path.join(dir, 'full.npz'));
    const labels = arrays.get('labels')!.data as BigInt64Array;
    for (let r = 0; r < ROWS; r++) {
      for (let t = 0; t < SEQ; t++) assert.equal(labels[r * SEQ + t], t + 1 < SEQ ? ids[r * SEQ + t + 1] : -100n);
    }
  });

  it('stores the top k (largest first, with their indices) and chosen hidden states', async () => {
    const k = 3;
    const block1 = mapBlocks(teacher).blocks[1]!.output;
    const file = path.join(dir, 'top.npz');
    await writeSoftLabels(teacher, request(file, { topK: k, indexType: 'int32', hidden: new Map([[1, block1]]) }));
    const arrays = readNpz(file);
    const full = readNpz(path.join(dir, 'full.npz')).get('probs')!.data as Float32Array;
    const values = arrays.get('topk_values')!.data as Float32Array;
    const indices = arrays.get('topk_indices')! as HostTensor;
    assert.deepEqual(indices.dims, [ROWS, SEQ, k]);
    const idx = indices.data as Int32Array;
    assert.ok(idx instanceof Int32Array);
    for (let pos = 0; pos < ROWS * SEQ; pos++) {
      const sorted = Array.from(full.subarray(pos * config.vocab, (pos + 1) * config.vocab)).sort((a, b) => b - a);
      for (let j = 0; j < k; j++) {
        assert.equal(values[pos * k + j], sorted[j]);
        assert.equal(full[pos * config.vocab + idx[pos * k + j]!], values[pos * k + j]);
      }
    }
    assert.deepEqual(Array.from(arrays.get('hidden_1')!.data as Float32Array), Array.from(hidden1));
  });

  it('writes the same arrays as safetensors', async () => {
    const file = path.join(dir, 'top.safetensors');
    await writeSoftLabels(teacher, request(file, { format: 'safetensors', topK: 3 }));
    const b = fs.readFileSync(file);
    const n = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    assert.deepEqual(header.topk_indices!.dtype, 'I64');
    const [s, e] = header.topk_values!.data_offsets;
    const values = new Float32Array(new Uint8Array(b.subarray(8 + n + s, 8 + n + e)).buffer);
    assert.deepEqual(Array.from(values), Array.from(readNpz(path.join(dir, 'top.npz')).get('topk_values')!.data as Float32Array));
  });

  it('refuses a top-k larger than the vocabulary and leaves no file', async () => {
    const file = path.join(dir, 'bad.npz');
    await assert.rejects(writeSoftLabels(teacher, request(file, { topK: config.vocab + 1 })), /--top-k 41 is larger than the vocabulary \(40\)/);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('bad')), []);
  });
});
