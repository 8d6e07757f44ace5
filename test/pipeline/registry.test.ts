import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSteps, listPasses } from '../../src/pipeline/registry.js';
import { loadConfig } from '../../src/pipeline/config.js';
import { describeOptions } from '../../src/pipeline/options-doc.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { quietContext, definePass } from '../../src/pipeline/pass.js';
import { ConfigError, PassError } from '../../src/errors.js';
import { mlpWithClutter } from '../helpers/tiny.js';
import { z } from 'zod';

describe('step resolution', () => {
  it('expands presets in order', () => {
    const steps = resolveSteps(['preset:cleanup', 'sort-topologically']);
    assert.deepEqual(steps.map((s) => s.pass.name), [
      'remove-identity', 'remove-dead-nodes', 'remove-unused-initializers', 'dedupe-initializers', 'sort-topologically', 'sort-topologically',
    ]);
  });

  it('names the step and suggests a close pass name', () => {
    assert.throws(() => resolveSteps(['remove-identity', 'remove-identiy']), (err: unknown) =>
      err instanceof ConfigError && /steps\[1\]/.test(err.message) && /did you mean 'remove-identity'/.test(err.message));
  });

  it('validates options and names the bad key', () => {
    assert.throws(() => resolveSteps([{ pass: 'dedupe-initializers', options: { maxBytes: -1 } }]), /steps\[0\] \(dedupe-initializers\): options.maxBytes/);
    assert.throws(() => resolveSteps([{ pass: 'remove-identity', options: { typo: 1 } }]), /typo/);
    assert.throws(() => resolveSteps(['preset:nope']), /unknown preset 'nope'/);
  });

  it('fills option defaults', () => {
    const [step] = resolveSteps([{ pass: 'dedupe-initializers' }]);
    assert.deepEqual(step!.options, { maxBytes: 64 << 20 });
  });

  it('documents every option of every pass', () => {
    for (const pass of listPasses()) {
      for (const o of describeOptions(pass.options)) assert.ok(o.description, `${pass.name}.${o.name} has no description`);
    }
  });
});

describe('runSteps', () => {
  it('reports per-pass stats and node counts', async () => {
    const model = mlpWithClutter();
    const reports = await runSteps(model, resolveSteps(['preset:cleanup']), quietContext());
    const byName = Object.fromEntries(reports.map((r) => [r.pass, r]));
    assert.equal(byName['remove-identity']!.stats.removed, 1);
    assert.equal(byName['remove-dead-nodes']!.nodesAfter, byName['remove-dead-nodes']!.nodesBefore - 1);
  });

  it('wraps a failing pass with its name and the passes before it', async () => {
    const broken = definePass({
      name: 'break-things',
      description: 'leaves a dangling use',
      options: z.object({}).strict(),
      run(model) {
        const relu = model.graph.nodesOfType('Relu')[0]!;
        relu.input(0).uses.length = 0;
        return { modified: true, stats: {} };
      },
    });
    const steps = [...resolveSteps(['remove-identity']), { pass: broken, options: {} }];
    await assert.rejects(runSteps(mlpWithClutter(), steps, quietContext()), (err: unknown) =>
      err instanceof PassError && /pass 'break-things' failed \(after remove-identity\)/.test(err.message));
  });

  it('a request the model cannot satisfy keeps the exit code of a bad config; other failures exit 1', async () => {
    const refusing = definePass({
      name: 'refuse', description: 'refuses its options', options: z.object({}).strict(),
      run() { throw new ConfigError('cannot do that here'); },
    });
    const failing = definePass({
      name: 'fail', description: 'fails', options: z.object({}).strict(),
      run() { throw new Error('broken'); },
    });
    for (const [pass, code] of [[refusing, 2], [failing, 1]] as const) {
      await assert.rejects(runSteps(mlpWithClutter(), [{ pass, options: {} }], quietContext()), (err: unknown) =>
        err instanceof PassError && err.exitCode === code);
    }
  });
});

describe('config file', () => {
  const write = (content: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-config-'));
    const file = path.join(dir, 'llmopt.config.json');
    fs.writeFileSync(file, content);
    return file;
  };

  it('reads steps, defaults and resolves paths against the file', () => {
    const file = write(JSON.stringify({ model: 'in.onnx', output: 'out/o.onnx', steps: ['preset:cleanup'] }));
    const c = loadConfig(file);
    assert.equal(c.model, path.join(path.dirname(file), 'in.onnx'));
    assert.equal(c.target, 'cpu');
    assert.deepEqual(c.steps, ['preset:cleanup']);
  });

  it('names the bad key', () => {
    assert.throws(() => loadConfig(write(JSON.stringify({ model: 'a', output: 'b', target: 'gpu' }))), /target/);
    assert.throws(() => loadConfig(write(JSON.stringify({ model: 'a', output: 'b', stepz: [] }))), /stepz/);
    assert.throws(() => loadConfig(write(JSON.stringify({ model: 'a', output: 'b', gates: { maxAccuracyDrop: -1 } }))), /gates\.maxAccuracyDrop/);
    assert.throws(() => loadConfig(write('{ not json')), /not valid JSON/);
    assert.throws(() => loadConfig('/nonexistent/llmopt.config.json'), ConfigError);
  });
});
