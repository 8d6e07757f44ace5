import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/io/load.js';
import { Session } from '../../src/runtime/session.js';
import { evaluateMaskedLm, evaluatePerplexity } from '../../src/eval/evaluate.js';
import { describeIo } from '../../src/bench/model-io.js';
import { readBenchData, rowsOf } from '../../src/bench/data.js';
import { accuracyOnData } from '../../src/bench/accuracy.js';
import { sharedFile, skipWithoutShared } from '../helpers/shared.js';

const ROWS = 3;
const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('accuracy on data agrees with src/eval (shared models)', { skip: skipWithoutShared }, () => {
  it('llama-tiny perplexity, and a model compared with itself agrees exactly', async () => {
    const file = sharedFile('llama-tiny.onnx');
    const model = loadModel(file);
    const io = describeIo(model);
    const data = readBenchData(sharedFile('eval_ids.npy'), model, io);
    const session = await Session.fromFile(file);
    try {
      const target = { session, io, kind: 'decoder' as const };
      const result = await accuracyOnData([target, target], data, { rows: ROWS, batchSize: 2 });
      const reference = await evaluatePerplexity(model, rowsOf(data.ids, 0, ROWS));
      const q = result.quality[0]!;
      assert.equal(q.kind, 'perplexity');
      assert.ok(q.kind === 'perplexity' && relative(q.perplexity, reference.perplexity) < 1e-4, `${JSON.stringify(q)} vs ${reference.perplexity}`);
      assert.equal(q.kind === 'perplexity' && q.tokens, reference.tokens);
      assert.deepEqual(result.agreement, { positions: ROWS * 128, maxAbs: 0, meanCosine: result.agreement!.meanCosine, top1Agreement: 1 });
      assert.ok(Math.abs(result.agreement!.meanCosine - 1) < 1e-9);
    } finally {
      await session.release();
    }
  });

  it('bert-tiny masked-LM accuracy and loss with labels', async () => {
    const file = sharedFile('bert-tiny.onnx');
    const model = loadModel(file);
    const io = describeIo(model);
    const data = readBenchData(sharedFile('mlm_eval_inputs.npy'), model, io, sharedFile('mlm_eval_labels.npy'));
    const session = await Session.fromFile(file);
    try {
      const result = await accuracyOnData([{ session, io, kind: 'encoder' }], data, { rows: ROWS });
      const reference = await evaluateMaskedLm(model, rowsOf(data.ids, 0, ROWS), rowsOf(data.labels!, 0, ROWS));
      const q = result.quality[0]!;
      assert.ok(q.kind === 'mlm');
      assert.ok(q.kind === 'mlm' && relative(q.accuracy, reference.accuracy) < 1e-4 && relative(q.loss, reference.loss) < 1e-4, `${JSON.stringify(q)} vs ${JSON.stringify(reference)}`);
      assert.equal(q.kind === 'mlm' && q.scored, reference.scored);
      assert.equal(result.agreement, null);
    } finally {
      await session.release();
    }
  });
});
