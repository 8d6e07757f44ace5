/** The `fuse` preset on the real exporter models beside the project (skipped when they are absent). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../../src/io/load.js';
import { cloneModel } from '../../../src/ir/clone.js';
import { countNodes, runSteps } from '../../../src/pipeline/manager.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { quietContext } from '../../../src/pipeline/pass.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { readNpy } from '../../../src/runtime/npy.js';
import { DType } from '../../../src/ir/dtype.js';
import type { HostTensor } from '../../../src/runtime/tensors.js';
import { assertSameOutputs, opTypes } from '../../helpers/model.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';

/** Logits of the fused model against the original on held-out rows: fp32, summation order differs. */
const ATOL = 1e-4;
const ROWS = 4;

function rows(file: string): HostTensor {
  const t = readNpy(sharedFile(file));
  const seq = t.dims[1]!;
  return { dtype: t.dtype, dims: [ROWS, seq], data: (t.data as BigInt64Array).slice(0, ROWS * seq) };
}

/** A 0/1 mask with trailing padding of 0, 16, 40 and 100 tokens on the rows. */
function paddedMask(seq: number): HostTensor {
  const data = new BigInt64Array(ROWS * seq);
  [0, 16, 40, 100].forEach((pad, r) => { for (let t = 0; t < seq - pad; t++) data[r * seq + t] = 1n; });
  return { dtype: DType.INT64, dims: [ROWS, seq], data };
}

const cases = [
  { model: 'llama-tiny.onnx', data: 'eval_ids.npy', ops: { GroupQueryAttention: 4, SimplifiedLayerNormalization: 9 } },
  { model: 'gpt2-tiny.onnx', data: 'eval_ids.npy', ops: { Attention: 4, LayerNormalization: 9, FastGelu: 4 } },
  { model: 'bert-tiny.onnx', data: 'mlm_eval_inputs.npy', ops: { Attention: 4, LayerNormalization: 10, BiasGelu: 5 } },
];

describe('fuse preset on the shared models', { skip: skipWithoutShared }, () => {
  for (const c of cases) {
    it(`${c.model}: every attention block and norm fused, >= 70 % fewer nodes, logits within ${ATOL}`, async () => {
      const before = loadModel(sharedFile(c.model));
      const after = cloneModel(before);
      await runSteps(after, resolveSteps(['preset:fuse']), quietContext());
      verifyModel(after);
      const types = opTypes(after).map((t) => t.replace('com.microsoft.', ''));
      for (const [op, n] of Object.entries(c.ops)) assert.equal(types.filter((t) => t === op).length, n, op);
      for (const gone of ['Softmax', 'ReduceMean', 'Erf', 'Tanh', 'Pow']) assert.ok(!types.includes(gone), `${gone} left`);
      assert.ok(countNodes(after) <= 0.3 * countNodes(before), `${countNodes(before)} -> ${countNodes(after)}`);
      const ids = rows(c.data);
      const feeds: Record<string, HostTensor> = { input_ids: ids };
      if (before.graph.inputs.some((i) => i.name === 'attention_mask')) feeds.attention_mask = paddedMask(ids.dims[1]!);
      await assertSameOutputs(before, after, { atol: ATOL, feeds, session: { optimization: 'disabled' } });
    });
  }
});
