import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sym, describeShape } from '../../src/pattern/sym.js';
import { FactTable } from '../../src/pattern/facts.js';
import { ints, start } from '../passes/fusion/graphs.js';

describe('symbolic dims', () => {
  it('adds, multiplies and divides polynomials exactly', () => {
    const b = Sym.named('batch'), s = Sym.named('seq');
    const total = b.mul(s).mul(Sym.num(256));
    assert.equal(total.divExact(b.mul(s).mul(Sym.num(32)))?.value, 8);
    assert.equal(total.divExact(Sym.num(3)), undefined);
    assert.ok(s.sub(Sym.num(1)).add(Sym.num(1)).equals(s));
  });
});

describe('FactTable', () => {
  it('follows Shape/Gather/Concat into a Reshape target with dynamic dims', () => {
    const { model, g, x, op, out } = start();
    const dims = op('Gather', [op('Shape', [x]), ints(g, 'idx', [0, 1])], { axis: 0 });
    const shape = op('Concat', [dims, ints(g, 'tail', [-1, 4])], { axis: 0 });
    const y = op('Reshape', [x, shape]);
    const neg = op('Equal', [shape, ints(g, 'minus', [-1])]);
    out(y);
    out(neg);
    const facts = new FactTable(model.graph);
    assert.equal(describeShape(facts.shape(y)), '[batch, seq, 4, 4]');
    assert.deepEqual(facts.numbers(neg), [0, 0, 1, 0]);   // dims are never -1
  });
});
