import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../../src/ir/dtype.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import { runModel } from '../../../src/runtime/session.js';
import { compareOutputs } from '../../../src/runtime/compare.js';
import type { Feeds } from '../../../src/runtime/tensors.js';
import { dynamicMatMulGraph, gqaGraph, normGeluGraph, qoperatorGraph } from '../../targets/graphs.js';
import { assertClean, assertClose, legalize, SEMANTIC } from '../../targets/harness.js';

describe('legalize-cuda', () => {
  it('converts an fp32 GroupQueryAttention model to float16 (convert-float16), outputs within 1e-2', async () => {
    const before = gqaGraph();
    const { after, result } = await legalize('cuda', before);
    assert.ok(result.stats.float16Converted! > 0);
    assertClean(after, 'cuda');
    const gqa = after.graph.nodes.find((n) => n.opType === 'GroupQueryAttention')!;
    const cache = after.graph.lookup(gqa.inputs[7]!.name)?.initializer;
    assert.equal(cache?.dtype, DType.FLOAT16, 'rotary caches follow the float16 query');
    const feeds: Feeds = randomFeeds(before, { dims: { batch: 2, seq: 5 }, seed: 5 });
    const a = await runModel(before, feeds, SEMANTIC);
    const b = await runModel(after, feeds, SEMANTIC);
    for (const d of compareOutputs(a, b)) assert.ok(d.maxAbs < 1e-2, `${d.name}: ${d.maxAbs}`);
  });

  it('moves QLinearMatMul to Q/DQ (no CUDA QOperator kernels), keeping u8 activations', async () => {
    const before = qoperatorGraph();
    const { after } = await legalize('cuda', before);
    assertClean(after, 'cuda');
    // Same integer grid: only the requantization rounding of y can differ (one step of 0.05 at most).
    await assertClose(before, after, 0.02, 0.9999);
  });

  it('drops run-time activation quantization (it runs on the host), weights stay int8', async () => {
    const before = dynamicMatMulGraph(64);
    const { after, result } = await legalize('cuda', before);
    assert.equal(result.stats.activationQuantDropped, 1);
    assertClean(after, 'cuda');
    await assertClose(before, after, 0.02, 0.999);
  });

  it('leaves onnxruntime fused ops alone (they have CUDA kernels)', async () => {
    const { result } = await legalize('cuda', normGeluGraph());
    assert.equal(result.modified, false);
  });
});
