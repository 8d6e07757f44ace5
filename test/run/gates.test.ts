import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { judgeGates } from '../../src/run/gates.js';

describe('gates', () => {
  it('judges each configured gate against its figure, with the measured value and the limit', () => {
    const results = judgeGates(
      { maxAccuracyDrop: 0.01, minSpeedup: 1.2, maxSizeRatio: 0.5, maxLatencyMs: 50 },
      { accuracyDrop: 0.021346, speedup: 1.5, sizeRatio: 0.5, latencyMs: 61.23456 },
    );
    assert.deepEqual(results.map((r) => [r.gate, r.passed]), [['maxAccuracyDrop', false], ['minSpeedup', true], ['maxSizeRatio', true], ['maxLatencyMs', false]]);
    assert.equal(results[0]!.message, 'gate maxAccuracyDrop failed: measured 0.02135 > limit 0.01');
    assert.equal(results[1]!.message, 'gate minSpeedup passed: measured 1.5 >= limit 1.2');
    assert.equal(results[2]!.message, 'gate maxSizeRatio passed: measured 0.5 <= limit 0.5');
    assert.equal(results[3]!.message, 'gate maxLatencyMs failed: measured 61.23 > limit 50');
  });

  it('fails a slow model on minSpeedup', () => {
    const [r] = judgeGates({ minSpeedup: 1.2 }, { speedup: 0.9 });
    assert.equal(r!.message, 'gate minSpeedup failed: measured 0.9 < limit 1.2');
  });

  it('leaves unset gates out and fails a gate whose figure is missing', () => {
    const results = judgeGates({ maxLatencyMs: 10 }, { sizeRatio: 0.3 });
    assert.equal(results.length, 1);
    assert.equal(results[0]!.passed, false);
    assert.equal(results[0]!.measured, null);
  });
});
