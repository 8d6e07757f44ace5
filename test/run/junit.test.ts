import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderJunit } from '../../src/run/junit.js';
import { judgeGates } from '../../src/run/gates.js';
import { parseXml } from './helpers.js';

describe('JUnit report', () => {
  const gates = judgeGates({ maxAccuracyDrop: 0.01, maxSizeRatio: 0.5, maxLatencyMs: 5 }, { accuracyDrop: 0.03, sizeRatio: 0.2, latencyMs: 4 });

  it('is well-formed, with one testcase per gate and a failure for each failed gate', () => {
    const root = parseXml(renderJunit({ suite: 'ci <"&> run', gates, seconds: 1.5, timestamp: '2025-01-01T00:00:00.000Z' }));
    assert.equal(root.name, 'testsuites');
    const suite = root.children[0]!;
    assert.equal(suite.attributes.name, 'ci <"&> run');
    assert.equal(suite.attributes.tests, '3');
    assert.equal(suite.attributes.failures, '1');
    const cases = suite.children.filter((c) => c.name === 'testcase');
    assert.deepEqual(cases.map((c) => c.attributes.name), ['maxAccuracyDrop', 'maxSizeRatio', 'maxLatencyMs']);
    const failure = cases[0]!.children.find((c) => c.name === 'failure');
    assert.equal(failure?.attributes.message, 'gate maxAccuracyDrop failed: measured 0.03 > limit 0.01');
    assert.equal(failure?.text, failure?.attributes.message);
    assert.ok(cases.slice(1).every((c) => !c.children.some((x) => x.name === 'failure')));
  });

  it('is well-formed with no gates', () => {
    const root = parseXml(renderJunit({ suite: 'x', gates: [], seconds: 0, timestamp: '2025-01-01T00:00:00.000Z' }));
    assert.equal(root.children[0]!.attributes.tests, '0');
  });

  it('the checker refuses malformed XML', () => {
    assert.throws(() => parseXml('<a><b></a></b>'));
    assert.throws(() => parseXml('<a x="1 & 2"></a>'));
    assert.throws(() => parseXml('<a>'));
  });
});
