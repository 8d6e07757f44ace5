import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Model } from '../../../src/ir/model.js';
import { loadModel } from '../../../src/io/load.js';
import { quietContext, TARGETS, type Target } from '../../../src/pipeline/pass.js';
import { resolveSteps } from '../../../src/pipeline/registry.js';
import { runSteps } from '../../../src/pipeline/manager.js';
import { checkModel } from '../../../src/targets/check.js';
import quantizeWeightOnly from '../../../passes/quantize/quantize-weight-only.js';
import { cloneModel } from '../../helpers/model.js';
import { ROOT } from '../../helpers/cli.js';
import { sharedFile, skipWithoutShared } from '../../helpers/shared.js';
import { assertClean, assertWithin, hasMicrosoftOps, legalize } from '../../targets/harness.js';

const bundled = (name: string) => loadModel(path.join(ROOT, 'fixtures/models', name));

async function fused(name: string): Promise<Model> {
  const model = bundled(name);
  await runSteps(model, resolveSteps(['preset:fuse']), quietContext());
  return model;
}

async function weightOnly(model: Model, target: Target): Promise<Model> {
  const copy = cloneModel(model);
  await quantizeWeightOnly.run(copy, quantizeWeightOnly.options.parse({}), quietContext({ target }));
  return copy;
}

describe('legalize on fused exporter models', () => {
  for (const name of ['tiny-llama.onnx', 'tiny-gpt2.onnx', 'tiny-bert.onnx']) {
    it(`${name}: fused for onnxruntime, then legalized for tensorrt and openvino: no contrib op, no error, same outputs within 1e-4`, async () => {
      const before = await fused(name);
      assert.ok(hasMicrosoftOps(before), 'the fuse preset emitted onnxruntime ops');
      for (const target of ['tensorrt', 'openvino'] as const) {
        const { after } = await legalize(target, before);
        assert.ok(!hasMicrosoftOps(after), target);
        assertClean(after, target);
        await assertWithin(before, after, 1e-4);
      }
    });
  }
});

describe('weight-only quantized models (format auto) have no findings on their target', () => {
  for (const name of ['tiny-llama.onnx', 'tiny-gpt2.onnx']) {
    for (const target of TARGETS) {
      it(`${name} on ${target}`, async () => {
        const q = await weightOnly(bundled(name), target);
        assert.deepEqual(checkModel(q, target), []);
        if (target === 'tensorrt' || target === 'openvino') assert.ok(!hasMicrosoftOps(q));
      });
    }
  }

  for (const name of ['llama-tiny.onnx', 'gpt2-tiny.onnx']) {
    it(`${name} (real export) on tensorrt and cpu`, { skip: skipWithoutShared }, async () => {
      const model = loadModel(sharedFile(name));
      for (const target of ['tensorrt', 'cpu'] as const) assert.deepEqual(checkModel(await weightOnly(model, target), target), [], target);
    });
  }
});
