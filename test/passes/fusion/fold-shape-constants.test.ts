import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import foldShapeConstants from '../../../passes/fusion/fold-shape-constants.js';
import { applyPass, assertSameOutputs, opTypes } from '../../helpers/model.js';
import { DType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { C, ints, start } from './graphs.js';
import type { Value } from '../../../src/ir/value.js';

/** x [batch, seq, 16] -> Reshape(x, Concat(batch, seq, 16 / 4, 4)) the way TorchScript exports write it. */
function reshapeByShape(staticDims = false) {
  const { model, g, x: input, op, out } = start();
  const x = staticDims ? (() => { input.type = { elemType: DType.FLOAT, shape: [2, 3, C] }; return input; })() : input;
  const c = (v: number) => g.addNode({ opType: 'Constant', inputs: [], attributes: { value: { type: 'tensor', value: Tensor.fromTyped('c', DType.INT64, [], BigInt64Array.of(BigInt(v))) } } }).output(0);
  const dim = (i: number) => op('Unsqueeze', [op('Gather', [op('Shape', [x]), c(i)], { axis: 0 }), ints(g, `axes${i}`, [0])]);
  const heads = op('Unsqueeze', [op('Div', [op('Gather', [op('Shape', [x]), c(2)], { axis: 0 }), c(4)]), ints(g, 'axes', [0])]);
  const shape = op('Concat', [dim(0), dim(1), heads, ints(g, 'four', [4])], { axis: 0 });
  const cosTable = op('Cos', [g.addConstant('angles', Tensor.fromTyped('angles', DType.FLOAT, [4], Float32Array.of(0, 1, 2, 3)))]);
  out(op('Mul', [op('Reshape', [x, shape]), cosTable]));
  return model;
}

function producerOps(v: Value | undefined): string[] {
  const out: string[] = [];
  for (let p = v?.producer; p; p = p.inputs.find((i) => i?.producer)?.producer) out.push(p.opType);
  return out;
}

describe('fold-shape-constants', () => {
  it('folds the static parts and reads batch and sequence from the input shape', async () => {
    const before = reshapeByShape();
    const { after, result } = await applyPass(foldShapeConstants, before);
    assert.ok(result.stats.constantNodes! >= 4 && result.stats.shapeValues! >= 1 && result.stats.dimsRebuilt === 1 && result.stats.evaluated === 1);
    assert.ok(!opTypes(after).includes('Constant') && !opTypes(after).includes('Cos') && !opTypes(after).includes('Div'));
    const reshape = after.graph.nodes.find((n) => n.opType === 'Reshape')!;
    assert.deepEqual(producerOps(reshape.inputs[1] ?? undefined), ['Concat', 'Gather', 'Shape']);
    for (const dims of [{ batch: 2, seq: 3 }, { batch: 1, seq: 9 }]) await assertSameOutputs(before, after, { atol: 0, dims });
    assert.equal((await applyPass(foldShapeConstants, after)).result.modified, false);
  });

  it('folds the whole shape computation when the input dims are static', async () => {
    const before = reshapeByShape(true);
    const { after } = await applyPass(foldShapeConstants, before);
    assert.deepEqual(opTypes(after), ['Reshape', 'Mul']);
    assert.deepEqual(after.graph.nodes[0]!.inputs[1]!.initializer!.toNumbers(), [2, 3, 4, 4]);
    await assertSameOutputs(before, after, { atol: 0 });
  });

  it('changes nothing without constants or shape arithmetic', async () => {
    const { model, x, op, out } = start();
    out(op('Relu', [x]));
    assert.equal((await applyPass(foldShapeConstants, model)).result.modified, false);
  });
});
