import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PerplexityAccumulator, MaskedAccuracyAccumulator } from '../../src/eval/metrics.js';
import { evaluatePerplexity, evaluateMaskedLm } from '../../src/eval/evaluate.js';
import { loadModel } from '../../src/io/load.js';
import { readNpy } from '../../src/runtime/npy.js';
import { sharedFile, skipWithoutShared } from '../helpers/shared.js';

describe('metrics', () => {
  it('perplexity of a uniform model is the vocabulary size', () => {
    const acc = new PerplexityAccumulator();
    acc.add(new Float32Array(2 * 5 * 7), new BigInt64Array([1n, 2n, 3n, 4n, 5n, 0n, 6n, 1n, 2n, 3n]), 2, 5, 7);
    assert.equal(acc.tokens, 8);
    assert.ok(Math.abs(acc.perplexity - 7) < 1e-9);
  });

  it('scores the next token, not the current one', () => {
    const acc = new PerplexityAccumulator();
    // vocab 2, seq 2: logits at t=0 strongly predict token 1, which is ids[1].
    acc.add(new Float32Array([-20, 20, 0, 0]), [0, 1], 1, 2, 2);
    assert.ok(acc.perplexity < 1.0001);
  });

  it('masked accuracy skips label -100', () => {
    const acc = new MaskedAccuracyAccumulator();
    acc.add(new Float32Array([0, 1, 1, 0, 5, 0]), [1, -100, 1], 3, 2);
    assert.equal(acc.scored, 2);
    assert.equal(acc.accuracy, 0.5);
  });
});

describe('evaluation on the real exports', { skip: skipWithoutShared }, () => {
  const close = (a: number, b: number, rel: number) => Math.abs(a - b) / Math.abs(b) <= rel;
  it('reproduces the reference fp32 perplexities', async () => {
    const ids = readNpy(sharedFile('eval_ids.npy'));
    const llama = await evaluatePerplexity(loadModel(sharedFile('llama-tiny.onnx')), ids);
    const gpt2 = await evaluatePerplexity(loadModel(sharedFile('gpt2-tiny.onnx')), ids);
    assert.equal(llama.tokens, 32 * 127);
    assert.ok(close(llama.perplexity, 3.2953, 5e-5), `llama ${llama.perplexity}`);
    assert.ok(close(gpt2.perplexity, 2.6353, 5e-5), `gpt2 ${gpt2.perplexity}`);
  });

  it('reproduces the reference BERT masked-LM accuracy and loss', async () => {
    const q = await evaluateMaskedLm(loadModel(sharedFile('bert-tiny.onnx')), readNpy(sharedFile('mlm_eval_inputs.npy')), readNpy(sharedFile('mlm_eval_labels.npy')));
    assert.ok(close(q.accuracy, 0.8264, 1e-4), `accuracy ${q.accuracy}`);
    assert.ok(close(q.loss, 0.6205, 1e-4), `loss ${q.loss}`);
  });
});
