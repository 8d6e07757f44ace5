import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBert, buildGpt2, buildLlama } from '../../fixtures/build/index.js';
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import { mapBlocks, type BlockBoundary } from '../../src/distill/boundaries.js';
import { solveRidge } from '../../src/distill/ridge.js';
import { addCorrection, projectionWeight } from '../../src/distill/weights.js';
import { buildStudent } from '../../src/distill/student.js';
import { readDataset, batchFeeds, type Dataset } from '../../src/data/dataset.js';
import { captureValues } from '../../src/runtime/capture.js';
import { randomFeeds, mulberry32 } from '../../src/runtime/feeds.js';
import { writeIds } from './helpers.js';

const small = { layers: 3, hidden: 64, heads: 4, ffn: 128, vocab: 64, maxPositions: 32 } as const;

describe('ridge solve', () => {
  it('satisfies (XᵀX + λI)·ΔW = XᵀE to 1e-9 (relative)', () => {
    const [rows, k, n] = [40, 12, 5];
    const rand = mulberry32(4);
    const x = Float64Array.from({ length: rows * k }, () => rand() - 0.5);
    const e = Float64Array.from({ length: rows * n }, () => rand() - 0.5);
    const g = new Float64Array(k * k);
    const c = new Float64Array(k * n);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) g[i * k + j]! += x[r * k + i]! * x[r * k + j]!;
        for (let j = 0; j < n; j++) c[i * n + j]! += x[r * k + i]! * e[r * n + j]!;
      }
    }
    const fraction = 0.5;
    let mean = 0;
    for (let i = 0; i < k; i++) mean += g[i * k + i]! / k;
    const { delta } = solveRidge(g, c, k, n, fraction);
    let worst = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < n; j++) {
        let lhs = fraction * mean * delta[i * n + j]!;
        for (let m = 0; m < k; m++) lhs += g[i * k + m]! * delta[m * n + j]!;
        worst = Math.max(worst, Math.abs(lhs - c[i * n + j]!) / Math.max(1e-12, Math.abs(c[i * n + j]!)));
      }
    }
    assert.ok(worst < 1e-9, `relative residual ${worst}`);
  });
});

describe('writing a weight correction', () => {
  // The product's output must move by exactly X·ΔW, whatever the layout the exporter chose.
  const cases: [string, () => Model][] = [
    ['MatMul with W[K, N]', () => buildLlama({ ...small, kvHeads: 2 })],
    ['MatMul with Transpose(W[N, K])', () => buildLlama({ ...small, kvHeads: 2, style: 'dynamo' })],
    ['Gemm', () => buildGpt2(small)],
  ];
  for (const [name, build] of cases) {
    it(`${name}: the output changes by X·ΔW within 1e-4`, async () => {
      const model = build();
      const p = mapBlocks(model).blocks[1]!.sublayers[1]!.projection!;
      const weight = projectionWeight(model, p);
      assert.ok(typeof weight !== 'string', String(weight));
      const feeds = randomFeeds(model, { dims: { batch: 1, sequence: 6 }, seed: 5 });
      const before = await captureValues(model, [p.input, p.output], feeds);
      const rand = mulberry32(9);
      const delta = Float64Array.from({ length: weight.k * weight.n }, () => rand() - 0.5);
      const after = cloneModel(model);
      addCorrection(after, projectionWeight(after, p) as typeof weight, delta);
      const y = (await captureValues(after, [p.output], feeds))[p.output]!.data as Float32Array;
      const x = before[p.input]!.data as Float32Array;
      const y0 = before[p.output]!.data as Float32Array;
      let worst = 0;
      for (let r = 0; r < x.length / weight.k; r++) {
        for (let c = 0; c < weight.n; c++) {
          let d = 0;
          for (let m = 0; m < weight.k; m++) d += x[r * weight.k + m]! * delta[m * weight.n + c]!;
          worst = Math.max(worst, Math.abs(y[r * weight.n + c]! - y0[r * weight.n + c]! - d));
        }
      }
      assert.ok(worst < 1e-4, `max error ${worst}`);
    });
  }
});

describe('layer-wise refit', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-fit-')); });

  /** Mean over tokens of ‖n(a) − n(b)‖² with n(x) = x / rms(x): the stream as the next norm sees it. */
  async function directionError(teacher: Model, student: Model, blocks: readonly BlockBoundary[], mine: number, theirs: number, data: Dataset): Promise<number> {
    const feeds = batchFeeds(data, teacher, 0, data.rows);
    const t = (await captureValues(teacher, [blocks[theirs]!.output], feeds))[blocks[theirs]!.output]!.data as Float32Array;
    const s = (await captureValues(student, [blocks[mine]!.output], feeds))[blocks[mine]!.output]!.data as Float32Array;
    const h = small.hidden;
    let total = 0;
    for (let at = 0; at < t.length; at += h) {
      let tt = 0, ss = 0;
      for (let c = at; c < at + h; c++) { tt += t[c]! ** 2; ss += s[c]! ** 2; }
      const [ft, fs2] = [Math.sqrt(h / tt), Math.sqrt(h / ss)];
      for (let c = at; c < at + h; c++) total += (t[c]! * ft - s[c]! * fs2) ** 2;
    }
    return total / (t.length / h);
  }

  const models: [string, () => Model][] = [
    ['llama (pre-norm)', () => buildLlama({ ...small, kvHeads: 2 })],
    ['bert (post-norm, norms take the span end\'s scale and shift)', () => buildBert(small)],
  ];
  for (const [name, build] of models) {
    it(`${name}: brings the kept blocks' streams closer to the teacher's on the calibration rows`, async () => {
      const teacher = build();
      const ids = path.join(dir, `${name.split(' ')[0]}.npy`);
      writeIds(ids, 12, 16, small.vocab, 7);
      const data = readDataset(ids, teacher);
      const built = await buildStudent(teacher, { keep: { kind: 'list', list: '0,2' }, fit: true, ridge: 0.1, calibration: data });
      assert.equal(built.fit.length, 4);
      for (const step of built.fit) assert.ok(step.errorAfter < step.errorBefore, `${step.projection}: ${step.errorBefore} -> ${step.errorAfter}`);
      const blocks = built.map.blocks;
      // Student block 0 stands for teacher blocks 0-1; block 2 (the last) for block 2.
      const plain = await directionError(teacher, built.plain, blocks, 0, 1, data);
      const fitted = await directionError(teacher, built.student, blocks, 0, 1, data);
      assert.ok(fitted < 0.8 * plain, `direction error ${plain} -> ${fitted}`);
    });
  }
});
