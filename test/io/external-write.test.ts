/** Writing external data: threshold, one or several data files, layouts, and inline <-> external. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { decodeModel, decodeTensor } from '../../src/onnx/decode.js';
import { encodeMessage } from '../../src/onnx/encode.js';
import { DType } from '../../src/ir/dtype.js';
import type { TensorProto } from '../../src/onnx/proto.js';
import type { Model } from '../../src/ir/model.js';
import { FileError } from '../../src/errors.js';
import { decoderStack, floatBytes, leftovers, tempDir } from './files.js';

/** name -> bytes of every initializer. */
const weights = (m: Model) => new Map(m.graph.initializers.map((v) => [v.name, Buffer.from(v.initializer!.bytes())]));

/** name -> {location, offset, length} of the external tensors of a written model file. */
function placements(file: string): Map<string, Record<string, string>> {
  const proto = decodeModel(fs.readFileSync(file), file);
  const external = (proto.graph!.initializer ?? []).filter((t: TensorProto) => t.data_location === 1);
  return new Map(external.map((t) => [t.name ?? '', Object.fromEntries((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']))]));
}

describe('writing external data', () => {
  let root = '';
  let n = 0;
  const folder = () => fs.mkdtempSync(path.join(root, `case-${n++}-`));
  const original = decoderStack(3, 16); // up/down weights 4096 bytes, scales 64 bytes
  before(() => { root = tempDir('write'); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('moves tensors of at least the threshold to one data file, aligned, and reads them back', () => {
    const dir = folder();
    const out = path.join(dir, 'model.onnx');
    const result = saveModel(original, out, { externalData: 'external', threshold: 1024 });
    const placed = placements(out);
    assert.deepEqual([...placed.keys()].sort(), ['down0', 'down1', 'down2', 'up0', 'up1', 'up2']);
    for (const p of placed.values()) {
      assert.equal(p.location, 'model.onnx.data');
      assert.equal(Number(p.offset) % 64, 0, 'offsets are aligned');
      assert.equal(p.length, '4096');
    }
    assert.deepEqual(result.dataFiles, [{ file: path.join(dir, 'model.onnx.data'), bytes: fs.statSync(path.join(dir, 'model.onnx.data')).size }]);
    assert.ok(result.bytes < 2048, `the model file holds no large weight (${result.bytes} bytes)`);
    assert.deepEqual(weights(loadModel(out)), weights(original));
    assert.deepEqual(leftovers(dir), []);
  });

  it('moves every tensor with threshold 0', () => {
    const dir = folder();
    const out = path.join(dir, 'model.onnx');
    saveModel(original, out, { externalData: 'external', threshold: 0 });
    assert.equal(placements(out).size, 9);
    assert.deepEqual(weights(loadModel(out)), weights(original));
  });

  it('splits the data into several files past maxDataFileBytes', () => {
    const dir = folder();
    const out = path.join(dir, 'model.onnx');
    const result = saveModel(original, out, { externalData: 'external', threshold: 1024, maxDataFileBytes: 9000 });
    assert.deepEqual(result.dataFiles.map((d) => path.basename(d.file)), ['model.onnx.data', 'model.onnx.data.1', 'model.onnx.data.2']);
    for (const d of result.dataFiles) assert.ok(d.bytes <= 9000 && fs.statSync(d.file).size === d.bytes, `${d.file}: ${d.bytes} bytes`);
    const locations = new Set([...placements(out).values()].map((p) => p.location));
    assert.equal(locations.size, 3);
    assert.deepEqual(weights(loadModel(out)), weights(original));
  });

  it('gives a tensor larger than maxDataFileBytes a file of its own', () => {
    const dir = folder();
    const out = path.join(dir, 'model.onnx');
    const result = saveModel(original, out, { externalData: 'external', threshold: 1024, maxDataFileBytes: 1000 });
    assert.equal(result.dataFiles.length, 6);
    assert.deepEqual(weights(loadModel(out)), weights(original));
  });

  it('names the data file as asked, also in a subfolder', () => {
    const dir = folder();
    fs.mkdirSync(path.join(dir, 'weights'));
    const out = path.join(dir, 'model.onnx');
    saveModel(original, out, { externalData: 'external', dataFile: 'weights/stack.bin' });
    assert.deepEqual(new Set([...placements(out).values()].map((p) => p.location)), new Set(['weights/stack.bin']));
    assert.deepEqual(weights(loadModel(out)), weights(original));
  });

  for (const dataFile of ['/tmp/elsewhere.bin', '../up.bin', '', 'model.onnx']) {
    it(`refuses the data file name '${dataFile}' and writes nothing`, () => {
      const dir = folder();
      const out = path.join(dir, 'model.onnx');
      assert.throws(() => saveModel(original, out, { externalData: 'external', dataFile }), (err: unknown) =>
        err instanceof FileError && err.message.startsWith(`${out}: `)
        && /must be a relative path inside the output's folder|would be the output model itself/.test(err.message));
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  }

  it('converts external -> inline -> external with the same bytes', () => {
    const dir = folder();
    const ext = path.join(dir, 'ext.onnx');
    saveModel(original, ext, { externalData: 'external', threshold: 0 });
    const inline = path.join(dir, 'inline.onnx');
    const r1 = saveModel(loadModel(ext), inline, { externalData: 'inline' });
    assert.deepEqual(r1.dataFiles, []);
    assert.equal(placements(inline).size, 0);
    const again = path.join(dir, 'again.onnx');
    saveModel(loadModel(inline), again, { externalData: 'external', threshold: 1024 });
    assert.equal(placements(again).size, 6);
    assert.deepEqual(weights(loadModel(again)), weights(original));
    // The inline file is the original model byte for byte.
    assert.deepEqual(fs.readFileSync(inline), fs.readFileSync(saveModel(original, path.join(dir, 'direct.onnx')).file));
  });

  it('writes an unchanged inline model back byte for byte, large tensors streamed from the loaded file', () => {
    const dir = folder();
    const first = path.join(dir, 'first.onnx');
    saveModel(decoderStack(2, 64), first); // up/down weights of 64 KB: streamed when written again
    const again = path.join(dir, 'again.onnx');
    saveModel(loadModel(first), again);
    assert.deepEqual(fs.readFileSync(again), fs.readFileSync(first));
  });

  it('streams a large tensor with a doc string, metadata and an unknown field to the same bytes', () => {
    const dir = folder();
    const known = encodeMessage('TensorProto', {
      dims: [16384], data_type: DType.FLOAT, name: 'big', raw_data: floatBytes(16384, 5), doc_string: 'kept',
      metadata_props: [{ key: 'k', value: 'v' }],
    });
    const tensor = decodeTensor(Buffer.concat([known, Uint8Array.from([0x98, 0x06, 0x01])]), 'big'); // field 99 = 1
    const first = path.join(dir, 'first.onnx');
    fs.writeFileSync(first, encodeMessage('ModelProto', { ir_version: 8, graph: { name: 'g', initializer: [tensor], output: [{ name: 'big' }] } }));
    const again = path.join(dir, 'again.onnx');
    saveModel(loadModel(first), again);
    assert.deepEqual(fs.readFileSync(again), fs.readFileSync(first));
  });

  it("keeps each tensor's place by default", () => {
    const dir = folder();
    const ext = path.join(dir, 'ext.onnx');
    saveModel(original, ext, { externalData: 'external', threshold: 1024 });
    const kept = path.join(dir, 'kept.onnx');
    saveModel(loadModel(ext), kept);
    assert.deepEqual(placements(kept), new Map([...placements(ext)].map(([k, v]) => [k, { ...v, location: 'kept.onnx.data' }])));
    assert.deepEqual(fs.readFileSync(path.join(dir, 'kept.onnx.data')), fs.readFileSync(path.join(dir, 'ext.onnx.data')));
  });
});
