/** Every external layout runs in onnxruntime-node, from its path, with outputs bit-identical to the original. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/io/load.js';
import { saveModel, type SaveOptions } from '../../src/io/save.js';
import { Session } from '../../src/runtime/session.js';
import { randomFeeds } from '../../src/runtime/feeds.js';
import type { Feeds, Outputs } from '../../src/runtime/tensors.js';
import type { TypedArray } from '../../src/ir/tensor.js';
import { decoderStack, tempDir } from './files.js';

const OPTIONS = { threads: 1 } as const;

async function run(session: Session, feeds: Feeds): Promise<Outputs> {
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Same names, shapes and bytes (NaN payloads and signed zeros included). */
function assertBitIdentical(actual: Outputs, expected: Outputs, what: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), what);
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!;
    assert.deepEqual(a.dims, e.dims, `${what}: ${name} shape`);
    const bytes = (t: typeof a) => Buffer.from((t.data as TypedArray).buffer, (t.data as TypedArray).byteOffset, (t.data as TypedArray).byteLength);
    assert.ok(bytes(a).equals(bytes(e)), `${what}: ${name} differs`);
  }
}

describe('external data in onnxruntime-node', () => {
  let root = '';
  const model = decoderStack(3, 32);
  const feeds = randomFeeds(model, { seed: 7, dims: { batch: 2 } });
  let expected: Outputs;
  before(async () => {
    root = tempDir('ort');
    expected = await run(await Session.fromModel(model, OPTIONS), feeds); // bytes in memory, no file
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const layouts: [string, SaveOptions][] = [
    ['one data file', { externalData: 'external', threshold: 1024 }],
    ['every tensor external', { externalData: 'external', threshold: 0 }],
    ['several data files', { externalData: 'external', threshold: 1024, maxDataFileBytes: 20_000 }],
    ['a data file in a subfolder', { externalData: 'external', dataFile: 'weights/stack.bin' }],
  ];
  for (const [what, options] of layouts) {
    it(what, async () => {
      const dir = fs.mkdtempSync(path.join(root, 'layout-'));
      fs.mkdirSync(path.join(dir, 'weights'));
      const file = path.join(dir, 'model.onnx');
      const saved = saveModel(model, file, options);
      assert.ok(saved.dataFiles.length >= 1);
      assertBitIdentical(await run(await Session.fromFile(file, OPTIONS), feeds), expected, what);
    });
  }

  it('converted back inline, and the loaded external model given to a session directly', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'back-'));
    const ext = path.join(dir, 'ext.onnx');
    saveModel(model, ext, { externalData: 'external', threshold: 0, maxDataFileBytes: 10_000 });
    const inline = path.join(dir, 'inline.onnx');
    saveModel(loadModel(ext), inline, { externalData: 'inline' });
    assertBitIdentical(await run(await Session.fromFile(inline, OPTIONS), feeds), expected, 'inline');
    assertBitIdentical(await run(await Session.fromModel(loadModel(ext), OPTIONS), feeds), expected, 'loaded external');
  });
});
