import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { ArrayFileWriter, type ArraySpec } from '../../src/distill/array-file.js';
import { npzContainer } from '../../src/distill/npz-container.js';
import { safetensorsContainer } from '../../src/distill/safetensors-container.js';
import { readNpz } from '../../src/data/npz.js';

const specs: ArraySpec[] = [
  { name: 'probs', dtype: 'float32', shape: [5, 3] },
  { name: 'ids', dtype: 'int64', shape: [5, 2] },
  { name: 'idx', dtype: 'int32', shape: [5] },
];

/** Rows 0..4, written two, two and one at a time, the arrays interleaved. */
async function writeInterleaved(file: string, container: ReturnType<typeof npzContainer>) {
  const w = new ArrayFileWriter(file, container);
  for (const [start, count] of [[0, 2], [2, 2], [4, 1]] as const) {
    w.append('idx', bytes(Int32Array.from({ length: count }, (_, i) => -(start + i))));
    w.append('probs', bytes(Float32Array.from({ length: count * 3 }, (_, i) => (start * 3 + i) / 8)));
    w.append('ids', bytes(BigInt64Array.from({ length: count * 2 }, (_, i) => BigInt(start * 2 + i) * 1000000000000n)));
  }
  return w.finish();
}

const bytes = (a: Float32Array | Int32Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('array files written row block by row block', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-arrays-')); });

  it('writes an .npz that reads back exactly, with its size and SHA-256', async () => {
    const file = path.join(dir, 'a.npz');
    const written = await writeInterleaved(file, npzContainer(specs));
    const arrays = readNpz(file);
    assert.deepEqual([...arrays.keys()], ['probs', 'ids', 'idx']);
    assert.deepEqual(arrays.get('probs')!.dims, [5, 3]);
    assert.deepEqual(Array.from(arrays.get('probs')!.data as Float32Array), Array.from({ length: 15 }, (_, i) => i / 8));
    assert.deepEqual(Array.from(arrays.get('ids')!.data as BigInt64Array), Array.from({ length: 10 }, (_, i) => BigInt(i) * 1000000000000n));
    assert.deepEqual(Array.from(arrays.get('idx')!.data as Int32Array), [0, -1, -2, -3, -4]);
    const content = fs.readFileSync(file);
    assert.equal(written.bytes, content.byteLength);
    assert.equal(written.sha256, crypto.createHash('sha256').update(content).digest('hex'));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });

  it('stores each member\'s CRC-32 in its local and central headers', async () => {
    const file = path.join(dir, 'crc.npz');
    await writeInterleaved(file, npzContainer(specs));
    const b = fs.readFileSync(file);
    let at = 0;
    for (let i = 0; i < specs.length; i++) {
      assert.equal(b.readUInt32LE(at), 0x04034b50);
      const size = b.readUInt32LE(at + 18);
      const start = at + 30 + b.readUInt16LE(at + 26) + b.readUInt16LE(at + 28);
      assert.equal(b.readUInt32LE(at + 14), crc32(b.subarray(start, start + size)));
      at = start + size;
    }
    assert.equal(b.readUInt32LE(at), 0x02014b50, 'central directory follows the members');
  });

  it('writes zip64 records when asked (as for files past 4 GiB)', async () => {
    const file = path.join(dir, 'z64.npz');
    await writeInterleaved(file, npzContainer(specs, { zip64: true }));
    const b = fs.readFileSync(file);
    const end = b.length - 22;
    assert.equal(b.readUInt32LE(end), 0x06054b50);
    assert.equal(b.readUInt32LE(end + 16), 0xffffffff);
    const locator = end - 20;
    assert.equal(b.readUInt32LE(locator), 0x07064b50);
    const record = Number(b.readBigUInt64LE(locator + 8));
    assert.equal(b.readUInt32LE(record), 0x06064b50);
    assert.equal(Number(b.readBigUInt64LE(record + 32)), specs.length);
    // Each central entry's zip64 extra gives the member's size and offset; the member's .npy reads back.
    let at = Number(b.readBigUInt64LE(record + 48));
    const first = { size: Number(b.readBigUInt64LE(at + 46 + b.readUInt16LE(at + 28) + 4)), offset: Number(b.readBigUInt64LE(at + 46 + b.readUInt16LE(at + 28) + 20)) };
    at = first.offset;
    const start = at + 30 + b.readUInt16LE(at + 26) + b.readUInt16LE(at + 28);
    assert.equal(b.subarray(start, start + 6).toString('latin1'), '\x93NUMPY');
    assert.equal(start + first.size, at + 30 + b.readUInt16LE(at + 26) + 20 + first.size);
  });

  it('writes safetensors: a JSON header of dtypes, shapes and offsets, then the data', async () => {
    const file = path.join(dir, 'a.safetensors');
    const w = new ArrayFileWriter(file, safetensorsContainer(specs, { temperature: '2' }));
    for (const s of specs) w.append(s.name, new Uint8Array(s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'int64' ? 8 : 4)).fill(7));
    await w.finish();
    const b = fs.readFileSync(file);
    const n = Number(b.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__: Record<string, string> };
    assert.deepEqual(header.__metadata__, { temperature: '2' });
    assert.deepEqual(header.probs, { dtype: 'F32', shape: [5, 3], data_offsets: [0, 60] });
    assert.deepEqual(header.ids, { dtype: 'I64', shape: [5, 2], data_offsets: [60, 140] });
    assert.deepEqual(header.idx, { dtype: 'I32', shape: [5], data_offsets: [140, 160] });
    assert.equal(b.length, 8 + n + 160);
  });

  it('refuses an incomplete file and leaves nothing behind when aborted', async () => {
    const file = path.join(dir, 'partial.npz');
    const w = new ArrayFileWriter(file, npzContainer(specs));
    w.append('idx', bytes(Int32Array.of(1, 2)));
    assert.throws(() => w.append('idx', bytes(new Int32Array(4))), /overflows/);
    await assert.rejects(w.finish(), /'probs' got 0 of 60 bytes/);
    assert.ok(!fs.existsSync(file));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('partial')), []);
  });
});

function crc32(data: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
