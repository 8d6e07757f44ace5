import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildLossModel } from '../../src/distill/loss-graph.js';
import { runModel } from '../../src/runtime/session.js';
import { mulberry32 } from '../../src/runtime/feeds.js';
import { DType } from '../../src/ir/dtype.js';
import { verifyModel } from '../../src/ir/verify.js';
import type { Feeds } from '../../src/runtime/tensors.js';

const [B, S, V] = [2, 5, 11];
const TOLERANCE = 1e-5;

/** Straight from the definition in float64: α·T²·mean KL + (1 − α)·mean CE over labels ≠ −100. */
function reference(logits: Float32Array, teacher: (pos: number) => Map<number, number>, labels: BigInt64Array, alpha: number, T: number) {
  let kl = 0, ce = 0, n = 0;
  for (let pos = 0; pos < B * S; pos++) {
    if (labels[pos] === -100n) continue;
    const row = Array.from(logits.subarray(pos * V, (pos + 1) * V), Number);
    const logSoftmax = (t: number) => {
      const m = Math.max(...row.map((x) => x / t));
      const z = Math.log(row.reduce((s, x) => s + Math.exp(x / t - m), 0)) + m;
      return row.map((x) => x / t - z);
    };
    const q = logSoftmax(T);
    for (const [v, p] of teacher(pos)) if (p > 0) kl += p * (Math.log(p) - q[v]!);
    ce -= logSoftmax(1)[Number(labels[pos])]!;
    n++;
  }
  const d = Math.max(n, 1);
  return { loss: alpha * T * T * (kl / d) + (1 - alpha) * (ce / d), kl: kl / d, ce: ce / d };
}

function randomLogits(seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: B * S * V }, () => (rand() - 0.5) * 8);
}

function softmaxAt(logits: Float32Array, T: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let at = 0; at < logits.length; at += V) {
    const row = logits.subarray(at, at + V);
    const m = Math.max(...row);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp((row[v]! - m) / T);
    for (let v = 0; v < V; v++) out[at + v] = Math.exp((row[v]! - m) / T) / s;
  }
  return out;
}

function labelsWithIgnored(seed: number): BigInt64Array {
  const rand = mulberry32(seed);
  return BigInt64Array.from({ length: B * S }, (_, i) => (i % 3 === 1 ? -100n : BigInt(Math.floor(rand() * V))));
}

const scalar = (out: Awaited<ReturnType<typeof runModel>>, name: string) => Number((out[name]!.data as Float32Array)[0]);

describe('distillation loss graph', () => {
  const T = 2;
  const alpha = 0.7;
  const student = randomLogits(1);
  const labels = labelsWithIgnored(3);

  it('matches the reference with full teacher probabilities', async () => {
    const probs = softmaxAt(randomLogits(2), T);
    probs[4] = 0; // a zero probability: 0·log 0 counts as 0
    const model = buildLossModel({ alpha, temperature: T, indexType: 'int64', vocab: V });
    verifyModel(model, 'loss graph');
    const feeds: Feeds = {
      student_logits: { dtype: DType.FLOAT, dims: [B, S, V], data: student },
      teacher_probs: { dtype: DType.FLOAT, dims: [B, S, V], data: probs },
      labels: { dtype: DType.INT64, dims: [B, S], data: labels },
    };
    const out = await runModel(model, feeds);
    const ref = reference(student, (pos) => new Map(Array.from(probs.subarray(pos * V, (pos + 1) * V), (p, v) => [v, p])), labels, alpha, T);
    for (const k of ['loss', 'kl', 'ce'] as const) assert.ok(Math.abs(scalar(out, k) - ref[k]) <= TOLERANCE, `${k}: ${scalar(out, k)} vs ${ref[k]}`);
    assert.ok(ref.kl > 0.01 && ref.ce > 0.01, 'both terms contribute');
  });

  for (const indexType of ['int64', 'int32'] as const) {
    it(`matches the reference with top-k values and ${indexType} indices (renormalized over k)`, async () => {
      const k = 4;
      const probs = softmaxAt(randomLogits(5), T);
      const values = new Float32Array(B * S * k);
      const indices = new BigInt64Array(B * S * k);
      for (let pos = 0; pos < B * S; pos++) {
        const order = [...Array(V).keys()].sort((a, b) => probs[pos * V + b]! - probs[pos * V + a]!);
        for (let j = 0; j < k; j++) { values[pos * k + j] = probs[pos * V + order[j]!]!; indices[pos * k + j] = BigInt(order[j]!); }
      }
      const model = buildLossModel({ alpha, temperature: T, topK: k, indexType, vocab: V });
      const out = await runModel(model, {
        student_logits: { dtype: DType.FLOAT, dims: [B, S, V], data: student },
        teacher_topk_values: { dtype: DType.FLOAT, dims: [B, S, k], data: values },
        teacher_topk_indices: indexType === 'int64'
          ? { dtype: DType.INT64, dims: [B, S, k], data: indices }
          : { dtype: DType.INT32, dims: [B, S, k], data: Int32Array.from(indices, Number) },
        labels: { dtype: DType.INT64, dims: [B, S], data: labels },
      });
      const ref = reference(student, (pos) => {
        let total = 0;
        for (let j = 0; j < k; j++) total += values[pos * k + j]!;
        return new Map(Array.from({ length: k }, (_, j) => [Number(indices[pos * k + j]), values[pos * k + j]! / total]));
      }, labels, alpha, T);
      for (const name of ['loss', 'kl', 'ce'] as const) assert.ok(Math.abs(scalar(out, name) - ref[name]) <= TOLERANCE, `${name}: ${scalar(out, name)} vs ${ref[name]}`);
    });
  }

  it('gives 0 when every label is ignored, and weighs the terms by α', async () => {
    const probs = softmaxAt(randomLogits(7), T);
    const feeds = (l: BigInt64Array): Feeds => ({
      student_logits: { dtype: DType.FLOAT, dims: [B, S, V], data: student },
      teacher_probs: { dtype: DType.FLOAT, dims: [B, S, V], data: probs },
      labels: { dtype: DType.INT64, dims: [B, S], data: l },
    });
    const ignored = await runModel(buildLossModel({ alpha, temperature: T, indexType: 'int64', vocab: V }), feeds(new BigInt64Array(B * S).fill(-100n)));
    assert.equal(scalar(ignored, 'loss'), 0);
    const onlyCe = await runModel(buildLossModel({ alpha: 0, temperature: T, indexType: 'int64', vocab: V }), feeds(labels));
    assert.ok(Math.abs(scalar(onlyCe, 'loss') - scalar(onlyCe, 'ce')) <= TOLERANCE);
    const onlyKl = await runModel(buildLossModel({ alpha: 1, temperature: T, indexType: 'int64', vocab: V }), feeds(labels));
    assert.ok(Math.abs(scalar(onlyKl, 'loss') - T * T * scalar(onlyKl, 'kl')) <= TOLERANCE);
  });
});
