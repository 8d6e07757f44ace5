import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildBert, buildGpt2, buildLlama } from '../../fixtures/build/index.js';
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import { mapBlocks } from '../../src/distill/boundaries.js';
import { dropBlocks } from '../../src/distill/drop.js';
import { evenlySpaced, mostImportant, parseKeepList } from '../../src/distill/select.js';
import { detectTransformer } from '../../src/analysis/transformer.js';
import { countParameters } from '../../src/analysis/parameters.js';
import { randomFeeds } from '../../src/runtime/feeds.js';
import { runModel } from '../../src/runtime/session.js';
import { assertSameOutputs } from '../helpers/model.js';
import { silenceBlocks } from './helpers.js';
import { ConfigError } from '../../src/errors.js';

const small = { layers: 3, hidden: 64, heads: 4, ffn: 128, vocab: 64, maxPositions: 32 } as const;
const dims = { batch: 2, sequence: 12 };

async function dropped(teacher: Model, keep: number[]) {
  const map = mapBlocks(teacher);
  const student = cloneModel(teacher);
  const result = await dropBlocks(student, map.blocks, keep);
  return { map, student, result };
}

describe('removing whole blocks', () => {
  // A pre-norm block whose branches add zero passes its input through: the same as removing it.
  const preNorm: [string, () => Model, number[]][] = [
    ['llama (torchscript)', () => buildLlama({ ...small, kvHeads: 2 }), [0, 2]],
    ['llama (dynamo)', () => buildLlama({ ...small, kvHeads: 2, style: 'dynamo' }), [1]],
    ['gpt2 (Gemm with bias)', () => buildGpt2(small), [0]],
  ];
  for (const [name, build, keep] of preNorm) {
    it(`${name}: keeping ${keep.join(',')} equals the teacher with the other blocks silenced, within 1e-5`, async () => {
      const teacher = build();
      const { map, student, result } = await dropped(teacher, keep);
      const removed = map.blocks.map((b) => b.index).filter((i) => !keep.includes(i));
      assert.deepEqual(result.removedBlocks, removed);
      await assertSameOutputs(silenceBlocks(teacher, map.blocks, removed), student, { atol: 1e-5, dims, seed: 3 });
      assert.equal(detectTransformer(student).blocks.length, keep.length);
      assert.deepEqual(student.graph.inputs.map((v) => v.name), teacher.graph.inputs.map((v) => v.name));
      assert.deepEqual(student.graph.outputs.map((v) => v.name), teacher.graph.outputs.map((v) => v.name));
    });
  }

  it('takes away the removed block\'s weights (llama: projections, two RMSNorm scales, a few shape constants)', async () => {
    const teacher = buildLlama({ ...small, kvHeads: 2 });
    const { student } = await dropped(teacher, [0, 2]);
    const block = detectTransformer(teacher).blocks[1]!;
    const weights = block.linears.reduce((n, l) => n + l.linear.weight!.elementCount, 0) + 2 * small.hidden;
    const removed = countParameters(teacher).total - countParameters(student).total;
    assert.ok(removed >= weights && removed - weights < 200, `removed ${removed}, block weights ${weights}`);
  });

  it('bert (post-norm): the student runs with the teacher\'s interface and one block fewer', async () => {
    const teacher = buildBert(small);
    const { student, result } = await dropped(teacher, [0, 2]);
    assert.ok(result.nodesRemoved > 10);
    assert.equal(detectTransformer(student).blocks.length, 2);
    const feeds = randomFeeds(teacher, { dims, seed: 1 });
    const [a, b] = [await runModel(teacher, feeds), await runModel(student, feeds)];
    const name = teacher.graph.outputs[0]!.name;
    assert.deepEqual(b[name]!.dims, a[name]!.dims);
    assert.ok(Array.from(b[name]!.data as Float32Array).every(Number.isFinite));
  });

  it('changes nothing when every block is kept', async () => {
    const teacher = buildLlama({ ...small, kvHeads: 2 });
    const { student, result } = await dropped(teacher, [0, 1, 2]);
    assert.equal(result.nodesRemoved, 0);
    assert.equal(student.graph.nodes.length, teacher.graph.nodes.length);
    await assertSameOutputs(teacher, student, { atol: 0, dims, seed: 2 });
  });
});

describe('choosing the blocks', () => {
  it('parses lists and refuses indices out of range (a config error)', () => {
    assert.deepEqual(parseKeepList('2, 0,2', 4), [0, 2]);
    assert.throws(() => parseKeepList('0,4', 4), (e: unknown) => e instanceof ConfigError && /'4' is not a block index.*0\.\.3/.test(e.message));
    assert.throws(() => parseKeepList('x', 4), ConfigError);
  });

  it('spaces N blocks evenly, each starting a span of equal length', () => {
    assert.deepEqual(evenlySpaced(2, 4), [0, 2]);
    assert.deepEqual(evenlySpaced(3, 6), [0, 2, 4]);
    assert.deepEqual(evenlySpaced(4, 4), [0, 1, 2, 3]);
    assert.throws(() => evenlySpaced(5, 4), ConfigError);
  });

  it('keeps the most important blocks, in order', () => {
    assert.deepEqual(mostImportant([0.5, 0.1, 0.3, 0.4], 2), [0, 3]);
    assert.deepEqual(mostImportant([0.2, 0.2, 0.2], 1), [0]);
  });
});
