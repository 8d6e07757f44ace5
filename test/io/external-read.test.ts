/** Reading external data: locations, offsets, several files, laziness, and one clear error per problem. */
import { describe, it, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/io/load.js';
import type { Model } from '../../src/ir/model.js';
import { CHAIN, assertFormatError, tempDir, writeChain } from './files.js';

const bytesOf = (model: Model, name: string): Uint8Array => {
  const t = model.graph.initializers.find((v) => v.name === name)?.initializer;
  assert.ok(t, `initializer ${name}`);
  return t.bytes();
};

const openDescriptors = () => fs.readdirSync('/proc/self/fd').length;

describe('reading external data', () => {
  let root = '';
  let n = 0;
  /** A fresh folder per case, so cases never see each other's files. */
  const folder = () => {
    const dir = path.join(root, `case-${n++}`);
    fs.mkdirSync(dir);
    return dir;
  };
  before(() => { root = tempDir('read'); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('reads locations relative to the model folder, at their offsets, from several files', () => {
    const dir = folder();
    const file = writeChain(dir, {
      w1: { location: 'weights/a.bin', offset: 100 },
      w2: { location: 'b.bin', withLength: false }, // length inferred from the shape
    });
    const model = loadModel(file);
    assert.deepEqual(bytesOf(model, 'w1'), CHAIN.w1.bytes);
    assert.deepEqual(bytesOf(model, 'w2'), CHAIN.w2.bytes);
    const w1 = model.graph.initializers[0]!.initializer!.byteSource!;
    assert.deepEqual(w1.external, { location: 'weights/a.bin', offset: 100, length: 128 });
    assert.equal(w1.describe(), 'weights/a.bin@100+128');
  });

  it('ignores checksums and unknown keys (no checksum is verified)', () => {
    const dir = folder();
    const file = writeChain(dir, {
      w1: { location: 'w.bin', extra: [{ key: 'checksum', value: 'not-a-real-sha1' }, { key: 'basepath', value: 'x' }] },
      w2: { location: 'w.bin', offset: 128 },
    });
    assert.deepEqual(bytesOf(loadModel(file), 'w1'), CHAIN.w1.bytes);
  });

  it('streams a tensor in chunks that join to its bytes', () => {
    const dir = folder();
    const model = loadModel(writeChain(dir, { w1: { location: 'w.bin', offset: 64 }, w2: {} }));
    const source = model.graph.initializers[0]!.initializer!.byteSource!;
    const pieces = Array.from(source.chunks(48), (c) => Uint8Array.from(c)); // copied as they come: the stream reuses its buffer
    assert.deepEqual(pieces.map((p) => p.byteLength), [48, 48, 32]);
    assert.deepEqual(Buffer.concat(pieces), Buffer.from(CHAIN.w1.bytes));
  });

  it('opens no data file while loading, and reads only the tensor asked for', () => {
    const dir = folder();
    const file = writeChain(dir, { w1: { location: 'a.bin' }, w2: { location: 'b.bin' } });
    const opened = mock.method(fs, 'openSync');
    try {
      const model = loadModel(file);
      const names = () => opened.mock.calls.map((c) => path.basename(String(c.arguments[0])));
      assert.deepEqual(names(), ['model.onnx']);
      bytesOf(model, 'w2');
      assert.deepEqual(names(), ['model.onnx', 'b.bin']);
    } finally {
      opened.mock.restore();
    }
  });

  it('keeps inline bytes as views of the file it read, not copies', () => {
    const dir = folder();
    const model = loadModel(writeChain(dir, { w1: {}, w2: {} }));
    const w1 = bytesOf(model, 'w1');
    const w2 = bytesOf(model, 'w2');
    assert.equal(w1.buffer, w2.buffer, 'both weights view one buffer');
    assert.ok(w1.buffer.byteLength >= fs.statSync(path.join(dir, 'model.onnx')).size);
    assert.equal(bytesOf(model, 'w1'), w1, 'a second read returns the same view');
  });

  it('refuses a data file replaced after loading instead of reading other bytes', () => {
    const dir = folder();
    const file = writeChain(dir, { w1: { location: 'a.bin' }, w2: { location: 'a.bin', offset: 128 } });
    const model = loadModel(file);
    const data = path.join(dir, 'a.bin');
    fs.writeFileSync(`${data}.new`, new Uint8Array(fs.statSync(data).size).fill(7));
    fs.renameSync(`${data}.new`, data);
    assert.throws(() => bytesOf(model, 'w1'), /external data file 'a\.bin' changed since the model was loaded/);
  });

  it('holds no descriptor between reads, however many models are loaded', () => {
    const dir = folder();
    const file = writeChain(dir, { w1: { location: 'a.bin' }, w2: { location: 'b.bin' } });
    const before = openDescriptors();
    const models = Array.from({ length: 50 }, () => loadModel(file));
    for (const m of models) {
      bytesOf(m, 'w1');
      for (const chunk of m.graph.initializers[1]!.initializer!.byteSource!.chunks(16)) if (chunk.byteLength) break; // stops early
    }
    assert.equal(openDescriptors() - before, 0);
  });

  it('reads a tensor placed above 4 GiB in a sparse file (offsets exact beyond 2^32)', () => {
    const dir = folder();
    const offset = 5 * 2 ** 30 + 64;
    const file = writeChain(dir, { w1: { location: 'big.bin', offset }, w2: { location: 'big.bin', offset: 2 ** 32 - 32 } });
    const size = fs.statSync(path.join(dir, 'big.bin')).size;
    assert.equal(size, offset + CHAIN.w1.bytes.byteLength);
    const model = loadModel(file);
    assert.deepEqual(bytesOf(model, 'w1'), CHAIN.w1.bytes);
    assert.deepEqual(bytesOf(model, 'w2'), CHAIN.w2.bytes, 'a tensor that straddles 4 GiB');
    assert.equal(model.graph.initializers[0]!.initializer!.byteSource!.external?.offset, offset);
  });

  describe('one clear error per problem', () => {
    /** The model refers to `location` for w1; `prepare` makes (or not) what lies there. */
    const cases: [string, string, (dir: string) => void, RegExp][] = [
      ['a missing data file', 'gone.bin', () => {}, /external data file 'gone\.bin' is missing/],
      ['an offset past the end', 'short.bin', (dir) => fs.writeFileSync(path.join(dir, 'short.bin'), new Uint8Array(100)),
        /tensor 'w1' reads past the end of 'short\.bin' \(0\+128 > 100\)/],
      ['a folder', 'sub', (dir) => fs.mkdirSync(path.join(dir, 'sub')), /external data location 'sub' is not a regular file/],
      ['a link to a folder outside', 'link', (dir) => fs.symlinkSync(os.tmpdir(), path.join(dir, 'link')), /external data location 'link' links outside the model's folder/],
      ['a link to a file outside', 'link.bin', (dir) => {
        const outside = path.join(root, `outside-${path.basename(dir)}.bin`);
        fs.writeFileSync(outside, CHAIN.w1.bytes);
        fs.symlinkSync(outside, path.join(dir, 'link.bin'));
      }, /external data location 'link\.bin' links outside the model's folder/],
      ['a parent folder', '../escape.bin', () => fs.writeFileSync(path.join(root, 'escape.bin'), CHAIN.w1.bytes),
        /external data location '\.\.\/escape\.bin' is outside the model's folder/],
      ['a climb hidden in a path', 'sub/../../escape.bin', () => fs.writeFileSync(path.join(root, 'escape.bin'), CHAIN.w1.bytes),
        /external data location 'sub\/\.\.\/\.\.\/escape\.bin' is outside the model's folder/],
      ['an absolute path', '/etc/hostname', () => {}, /external data location '\/etc\/hostname' is absolute/],
      ['an invalid offset', 'w.bin', (dir) => fs.writeFileSync(path.join(dir, 'w.bin'), CHAIN.w1.bytes), /tensor 'w1' has invalid external offset '-8'/],
    ];
    for (const [what, location, prepare, pattern] of cases) {
      it(what, () => {
        const dir = folder();
        const file = writeChain(dir, { w1: { location, write: false, offset: what === 'an invalid offset' ? -8 : undefined }, w2: {} });
        prepare(dir);
        assertFormatError(() => loadModel(file), file, pattern);
      });
    }

    it('a name that merely starts with two dots stays inside the folder', () => {
      const dir = folder();
      const file = writeChain(dir, { w1: { location: '..w1.bin' }, w2: {} });
      assert.deepEqual(bytesOf(loadModel(file), 'w1'), CHAIN.w1.bytes);
    });
  });
});
