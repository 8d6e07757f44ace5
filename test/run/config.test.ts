import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseRunConfig } from '../../src/run/config.js';
import { resolveRunSteps } from '../../src/run/steps.js';
import { ConfigError } from '../../src/errors.js';

const base = { model: 'in.onnx', output: 'out.onnx', steps: ['preset:cleanup'] };
const file = path.join('/configs', 'ci', 'run.json');

/** Each bad config and the key its message must name. */
const BAD: readonly [string, unknown, RegExp][] = [
  ['an unknown top-level key', { ...base, gate: {} }, /\(top level\): .*\(gate\)/],
  ['a missing model', { output: 'o.onnx', steps: ['x'] }, /model: /],
  ['an unknown target', { ...base, target: 'tpu' }, /target: /],
  ['an empty step list', { ...base, steps: [] }, /steps: /],
  ['a step of the wrong shape', { ...base, steps: [{ pass: 'remove-identity', opts: {} }] }, /steps\[0\]: /],
  ['a negative gate', { ...base, data: 'e.npy', gates: { maxAccuracyDrop: -1 } }, /gates\.maxAccuracyDrop: /],
  ['an unknown gate', { ...base, gates: { minAccuracy: 1 } }, /gates: .*\(minAccuracy\)/],
  ['a zero bench run count', { ...base, bench: { runs: 0 } }, /bench\.runs: /],
  ['a fractional row count', { ...base, data: 'e.npy', evalRows: 1.5 }, /evalRows: /],
  ['an accuracy gate without data', { ...base, gates: { maxAccuracyDrop: 0.01 } }, /gates\.maxAccuracyDrop: needs "data"/],
  ['a speed gate without the benchmark', { ...base, bench: false, gates: { minSpeedup: 1.2 } }, /gates\.minSpeedup: needs the benchmark/],
  ['labels without data', { ...base, labels: 'l.npy' }, /labels: needs "data"/],
  ['an output equal to the input', { ...base, output: './in.onnx' }, /output: would overwrite the input/],
];

describe('run config', () => {
  for (const [what, raw, key] of BAD) {
    it(`names the key for ${what}`, () => {
      assert.throws(() => parseRunConfig(raw, file), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.exitCode, 2);
        assert.match(err.message, /^\/configs\/ci\/run\.json: /);
        assert.match(err.message, key);
        return true;
      });
    });
  }

  it('resolves paths against the config file and fills defaults', () => {
    const c = parseRunConfig({ ...base, data: '../data/eval.npy', calib: 'calib.npy' }, file);
    assert.equal(c.model, path.resolve('/configs/ci/in.onnx'));
    assert.equal(c.data, path.resolve('/configs/data/eval.npy'));
    assert.equal(c.calib, path.resolve('/configs/ci/calib.npy'));
    assert.equal(c.target, 'cpu');
    assert.deepEqual(c.bench, { runs: 20, warmup: 3, seq: 128, batch: 1 });
    assert.deepEqual(c.gates, {});
  });
});

describe('run steps', () => {
  it('maps the quantize pseudo-pass through the quantize flags', () => {
    const [step] = resolveRunSteps([{ pass: 'quantize', options: { mode: 'weight-only', bits: 4, asymmetric: true, exclude: 'lm_head' } }]);
    assert.equal(step!.pass.name, 'quantize-weight-only');
    const options = step!.options as Record<string, unknown>;
    assert.equal(options.bits, 4);
    assert.equal(options.symmetric, false);
    assert.deepEqual(options.exclude, ['lm_head']);
  });

  it('expands presets and keeps plain passes', () => {
    const names = resolveRunSteps(['preset:cleanup', { pass: 'quantize', options: { mode: 'dynamic' } }]).map((s) => s.pass.name);
    assert.deepEqual(names.slice(-2), ['sort-topologically', 'quantize-dynamic']);
  });

  const STEP_ERRORS: readonly [string, unknown[], RegExp][] = [
    ['an unknown pass', ['preset:cleanup', 'remove-identiy'], /^steps\[1\]: unknown pass 'remove-identiy'.*did you mean 'remove-identity'/],
    ['an unknown preset', ['preset:nope'], /^steps\[0\]: unknown preset 'nope'/],
    ['a quantize step without a mode', [{ pass: 'quantize', options: { bits: 4 } }], /^steps\[0\]\.options\.mode: /],
    ['an unknown quantize option', [{ pass: 'quantize', options: { mode: 'dynamic', bitz: 4 } }], /^steps\[0\]\.options: .*\(bitz\)/],
    ['a quantize option of the wrong type', [{ pass: 'quantize', options: { mode: 'weight-only', bits: '4' } }], /^steps\[0\]\.options\.bits: /],
    ['an option of another mode', [{ pass: 'quantize', options: { mode: 'dynamic', bits: 4 } }], /^steps\[0\] \(quantize\): bits applies to mode weight-only, not dynamic/],
    ['a bad value for the pass', [{ pass: 'quantize', options: { mode: 'weight-only', bits: 3 } }], /^steps\[0\] \(quantize-weight-only\): options\.bits: /],
    ['a bad pass option', [{ pass: 'remove-identity', options: { nope: 1 } }], /^steps\[0\] \(remove-identity\): options/],
  ];
  for (const [what, steps, message] of STEP_ERRORS) {
    it(`names the step for ${what}`, () => {
      assert.throws(() => resolveRunSteps(steps as never), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
});
