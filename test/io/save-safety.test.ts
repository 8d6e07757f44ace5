/** Saving never harms the input, never leaves a half-written file, and replaces an output atomically. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/io/load.js';
import { saveModel, type SaveOptions } from '../../src/io/save.js';
import { cloneModel } from '../../src/ir/clone.js';
import { Tensor, type ByteSource } from '../../src/ir/tensor.js';
import type { Model } from '../../src/ir/model.js';
import { FileError, ModelFormatError } from '../../src/errors.js';
import { decoderStack, leftovers, tempDir } from './files.js';

/** A source that yields `good` chunks of its bytes, then fails as a disk or a pass might. */
class FailingSource implements ByteSource {
  constructor(readonly byteLength: number, private readonly good: number) {}
  read(): Uint8Array { throw new Error('source failed on read'); }
  *chunks(chunk: number): Iterable<Uint8Array> {
    for (let i = 0; i < this.good; i++) yield new Uint8Array(Math.min(chunk, this.byteLength));
    throw new Error('source failed midway');
  }
  describe(): string { return 'failing'; }
}

/** The stack with its last large weight replaced by one whose bytes fail while being written. */
function withFailingWeight(): Model {
  const model = decoderStack(3, 16);
  const v = model.graph.initializers.find((i) => i.name === 'down2')!;
  const t = new Tensor('down2', v.initializer!.dtype, v.initializer!.dims, new FailingSource(4096, 1));
  t.modified = true;
  v.initializer = t;
  return model;
}

const snapshot = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));

describe('saving safely', () => {
  let root = '';
  let n = 0;
  const folder = () => fs.mkdtempSync(path.join(root, `case-${n++}-`));
  before(() => { root = tempDir('save'); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  /** A folder holding `model.onnx` + `model.onnx.data`, and the model loaded from it. */
  const input = () => {
    const dir = folder();
    const file = path.join(dir, 'model.onnx');
    saveModel(decoderStack(2, 16), file, { externalData: 'external' });
    return { dir, file, model: loadModel(file) };
  };

  const refuses = (model: Model, output: string, pattern: RegExp, options: SaveOptions = {}) => {
    assert.throws(() => saveModel(model, output, options), (err: unknown) =>
      err instanceof FileError && err.message.startsWith(`${output}: `) && pattern.test(err.message) && !err.message.includes('\n'));
  };

  describe('refuses to write over what the model is read from', () => {
    const spellings: [string, (dir: string, file: string) => string][] = [
      ['the same path', (_dir, file) => file],
      ['another spelling of the path', (dir) => path.join(dir, '.', 'sub', '..', 'model.onnx')],
      ['a relative path', (_dir, file) => path.relative(process.cwd(), file)],
      ['a symbolic link to the input', (dir, file) => { const l = path.join(dir, 'alias.onnx'); fs.symlinkSync(file, l); return l; }],
      ['a hard link to the input', (dir, file) => { const l = path.join(dir, 'hard.onnx'); fs.linkSync(file, l); return l; }],
      ["the input's data file", (dir) => path.join(dir, 'model.onnx.data')],
    ];
    for (const [what, spell] of spellings) {
      it(what, () => {
        const { dir, file, model } = input();
        const output = spell(dir, file);
        const before = snapshot(dir);
        refuses(model, output, /refusing to overwrite the input \('model\.onnx(\.data)?' is read by the model\)/, { externalData: 'inline' });
        assert.deepEqual(snapshot(dir), before);
      });
    }

    it("a data file named like the input's, explicitly or by default", () => {
      const { dir, model } = input();
      const before = snapshot(dir);
      refuses(model, path.join(dir, 'other.onnx'), /its data file 'model\.onnx\.data' is one the input reads from/, { dataFile: 'model.onnx.data' });
      assert.deepEqual(snapshot(dir), before);
      // a.onnx reads b.onnx.data, the default data file of an output named b.onnx.
      const a = path.join(dir, 'a.onnx');
      saveModel(decoderStack(1, 16), a, { externalData: 'external', dataFile: 'b.onnx.data' });
      refuses(loadModel(a), path.join(dir, 'b.onnx'), /its data file 'b\.onnx\.data' is one the input reads from/, { externalData: 'external' });
      assert.ok(!fs.existsSync(path.join(dir, 'b.onnx')));
    });

    it('a copy of the loaded model is refused too: its tensors still read the data file', () => {
      const { dir, model } = input();
      const copy = cloneModel(model);
      refuses(copy, path.join(dir, 'model.onnx.data'), /refusing to overwrite the input/);
    });
  });

  describe('a save that fails midway writes nothing', () => {
    for (const externalData of ['external', 'inline'] as const) {
      it(`streaming ${externalData} data`, () => {
        const dir = folder();
        const out = path.join(dir, 'out.onnx');
        assert.throws(() => saveModel(withFailingWeight(), out, { externalData }), (err: unknown) =>
          err instanceof FileError && err.message === `${out}: cannot write (source failed midway)`);
        assert.deepEqual(fs.readdirSync(dir), [], 'no output, no data file, no temporary file');
      });
    }

    it('and leaves an existing output as it was', () => {
      const dir = folder();
      const out = path.join(dir, 'out.onnx');
      saveModel(decoderStack(1, 16), out, { externalData: 'external' });
      const before = snapshot(dir);
      assert.throws(() => saveModel(withFailingWeight(), out, { externalData: 'external' }), FileError);
      assert.deepEqual(snapshot(dir), before);
    });

    it('when an input data file vanished since the load: the typed error names it', () => {
      const { dir, model } = input();
      fs.rmSync(path.join(dir, 'model.onnx.data'));
      const out = path.join(dir, 'out.onnx');
      assert.throws(() => saveModel(model, out), (err: unknown) =>
        err instanceof ModelFormatError && /external data file 'model\.onnx\.data' cannot be read \(ENOENT\)/.test(err.message));
      assert.deepEqual(fs.readdirSync(dir), ['model.onnx']);
    });
  });

  it('replaces an existing output atomically (a reader of the old file keeps the old bytes)', () => {
    const dir = folder();
    const out = path.join(dir, 'out.onnx');
    saveModel(decoderStack(1, 16), out, { externalData: 'external' });
    const old = { model: fs.readFileSync(out), data: fs.readFileSync(`${out}.data`) };
    const fd = fs.openSync(`${out}.data`, 'r');
    try {
      saveModel(decoderStack(2, 16), out, { externalData: 'external' });
      const kept = Buffer.alloc(old.data.byteLength);
      fs.readSync(fd, kept, 0, kept.byteLength, 0);
      assert.deepEqual(kept, old.data, 'the old data file was replaced, not rewritten in place');
    } finally {
      fs.closeSync(fd);
    }
    assert.notDeepEqual(fs.readFileSync(out), old.model);
    assert.equal(loadModel(out).graph.initializers.length, 6);
    assert.deepEqual(leftovers(dir), []);
  });

  it('refuses a folder as output', () => {
    const dir = folder();
    fs.mkdirSync(path.join(dir, 'out.onnx'));
    refuses(decoderStack(1, 16), path.join(dir, 'out.onnx'), /is a folder/);
  });
});
