import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pruneMagnitude from '../../../passes/prune/prune-magnitude.js';
import pruneWanda from '../../../passes/prune/prune-wanda.js';
import pruneSparseGpt from '../../../passes/prune/prune-sparsegpt.js';
import type { Pass } from '../../../src/pipeline/pass.js';
import { countNmViolations, pruneCount } from '../../../src/math/sparsity.js';
import { floatData, layersByLabel, prunedWith, relativeOutputError, threeLayers, zerosOf } from './helpers.js';

// 64 rows of 24 inputs: more samples than any layer has inputs, so the fits are well posed.
const data = floatData(64, 24, 11);
const all = { includeHead: true } as const;
const methods: readonly Pass[] = [pruneMagnitude, pruneWanda, pruneSparseGpt] as Pass[];

describe('calibrated pruning on a small graph', () => {
  it('wanda: exactly half of every output\'s weights, ranked by |w|·‖x‖', async () => {
    const model = threeLayers();
    const { after } = await prunedWith(pruneWanda, model, { ...all, sparsity: 0.5, reconstruct: false }, data);
    for (const [label, l] of layersByLabel(after)) {
      const w = l.weight.initializer!.toFloat32();
      for (let c = 0; c < l.n; c++) {
        let zeros = 0;
        for (let i = 0; i < l.k; i++) if ((l.transposed ? w[c * l.k + i] : w[i * l.n + c]) === 0) zeros++;
        assert.equal(zeros, l.k / 2, `${label} output ${c}`);
      }
    }
  });

  it('reconstruction lowers the output error and refits the bias', async () => {
    const model = threeLayers();
    for (const pass of methods) {
      const plain = await prunedWith(pass, model, { ...all, sparsity: 0.6, reconstruct: false }, data);
      const refit = await prunedWith(pass, model, { ...all, sparsity: 0.6 }, data);
      const e0 = await relativeOutputError(model, plain.after, data);
      const e1 = await relativeOutputError(model, refit.after, data);
      // SparseGPT's own updates already fit most of what a refit finds.
      const factor = pass === pruneSparseGpt ? 1 : 0.9;
      assert.ok(e1 < e0 * factor, `${pass.name}: error ${e0} -> ${e1} with reconstruction`);
      for (const [label, l] of layersByLabel(refit.after)) assert.equal(zerosOf(l), pruneCount(l.k * l.n, 0.6), `${pass.name} ${label}`);
      const bias = (m: typeof model) => m.graph.lookup('b2')!.initializer!.toFloat32();
      assert.notDeepEqual(bias(refit.after), bias(model), `${pass.name}: the Gemm bias is refit`);
    }
  });

  it('sparsegpt beats magnitude and wanda at the same sparsity without reconstruction', async () => {
    const model = threeLayers();
    const errors: number[] = [];
    for (const pass of methods) {
      const { after } = await prunedWith(pass, model, { ...all, sparsity: 0.5, reconstruct: false }, data);
      errors.push(await relativeOutputError(model, after, data));
    }
    assert.ok(errors[2]! < errors[0]! && errors[2]! < errors[1]!, `magnitude, wanda, sparsegpt: ${errors.join(', ')}`);
  });

  it('2:4 and global scope with every calibrated method', async () => {
    const model = threeLayers();
    for (const pass of methods.slice(1)) {
      const nm = await prunedWith(pass, model, { ...all, pattern: '2:4' }, data);
      for (const [label, l] of layersByLabel(nm.after)) {
        assert.equal(countNmViolations(l.weight.initializer!.toFloat32(), l.k, l.n, l.transposed, { n: 2, m: 4 }), 0, `${pass.name} ${label}`);
      }
      const global = await prunedWith(pass, model, { ...all, sparsity: 0.5, scope: 'global', schedule: 2 }, data);
      const layers = [...layersByLabel(global.after).values()];
      const total = layers.reduce((n, l) => n + l.k * l.n, 0);
      assert.equal(layers.reduce((n, l) => n + zerosOf(l), 0), pruneCount(total, 0.5), pass.name);
      assert.ok(new Set(layers.map((l) => zerosOf(l) / (l.k * l.n))).size > 1, `${pass.name}: global scope gives layers different shares`);
    }
  });

  it('refuses to run without calibration data', async () => {
    await assert.rejects(prunedWith(pruneWanda, threeLayers(), {}), /needs calibration data/);
    await assert.rejects(prunedWith(pruneSparseGpt, threeLayers(), {}), /needs calibration data/);
  });
});
