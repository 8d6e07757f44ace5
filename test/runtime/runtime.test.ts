import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mlpWithClutter } from '../helpers/tiny.js';
import { Session, runModel } from '../../src/runtime/session.js';
import { captureValues } from '../../src/runtime/capture.js';
import { randomFeeds } from '../../src/runtime/feeds.js';
import { compareTensors, identicalOutputs } from '../../src/runtime/compare.js';
import { parseNpy } from '../../src/runtime/npy.js';
import { saveModel } from '../../src/io/save.js';
import { loadModel } from '../../src/io/load.js';
import { cloneModel } from '../../src/ir/clone.js';
import { DType } from '../../src/ir/dtype.js';
import { RuntimeError } from '../../src/errors.js';

describe('sessions', () => {
  it('runs an IR model from bytes and from a file with external data, with identical results', async () => {
    const model = mlpWithClutter();
    const feeds = randomFeeds(model, { dims: { batch: 2 }, seed: 3 });
    const inMemory = await runModel(model, feeds);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-rt-'));
    const file = path.join(dir, 'm.onnx');
    saveModel(model, file, { externalData: 'external', threshold: 16 });
    const fromExternal = await runModel(loadModel(file), feeds);
    const session = await Session.fromFile(file, { threads: 1 });
    const fromFile = await session.run(feeds);
    await session.release();
    assert.ok(identicalOutputs(inMemory, fromExternal));
    assert.ok(identicalOutputs(inMemory, fromFile));
    assert.deepEqual(inMemory.y!.dims, [2, 4]);
  });

  it('turns an onnxruntime failure into a RuntimeError', async () => {
    const model = mlpWithClutter();
    model.graph.nodesOfType('Relu')[0]!.opType = 'NoSuchOperator';
    await assert.rejects(runModel(model, randomFeeds(model, { dims: { batch: 1 } })), RuntimeError);
  });
});

describe('capture', () => {
  it('returns intermediate values without changing the model', async () => {
    const model = mlpWithClutter();
    const relu = model.graph.nodesOfType('Relu')[0]!.output(0);
    const feeds = randomFeeds(model, { dims: { batch: 2 } });
    const nodesBefore = model.graph.nodes.length;
    const captured = await captureValues(model, [relu.name, 'y'], feeds);
    assert.equal(model.graph.nodes.length, nodesBefore);
    assert.equal(model.graph.outputs.length, 1);
    const values = captured[relu.name]!.data as Float32Array;
    assert.deepEqual(captured[relu.name]!.dims, [2, 16]);
    assert.ok(values.every((v) => v >= 0), 'a Relu output is non-negative');
    const direct = await runModel(model, feeds);
    assert.equal(compareTensors('y', direct.y!, captured.y!).maxAbs, 0);
  });

  it('refuses an unknown value', async () => {
    const model = mlpWithClutter();
    await assert.rejects(captureValues(model, ['nope'], randomFeeds(model, { dims: { batch: 1 } })), /no such value/);
  });
});

describe('clone', () => {
  it('is independent of the original but shares unchanged bytes', async () => {
    const model = mlpWithClutter();
    const copy = cloneModel(model);
    copy.graph.removeNode(copy.graph.nodesOfType('Sigmoid')[0]!);
    assert.equal(model.graph.nodesOfType('Sigmoid').length, 1);
    const w = copy.graph.lookup('w1')!.initializer!;
    w.setBytes(new Uint8Array(w.byteLength));
    assert.notDeepEqual(model.graph.lookup('w1')!.initializer!.bytes(), w.bytes());
    const feeds = randomFeeds(model, { dims: { batch: 2 } });
    assert.ok(identicalOutputs(await runModel(model, feeds), await runModel(cloneModel(model), feeds)));
  });
});

describe('compare and data', () => {
  it('measures differences', () => {
    const a = { dtype: DType.FLOAT, dims: [3], data: new Float32Array([1, 2, 3]) };
    const b = { dtype: DType.FLOAT, dims: [3], data: new Float32Array([1, 2.5, 3]) };
    const d = compareTensors('t', a, b);
    assert.equal(d.maxAbs, 0.5);
    assert.equal(d.mismatched, 1);
    assert.ok(d.cosine < 1 && d.cosine > 0.99);
    assert.equal(compareTensors('t', a, { ...b, dims: [1, 3] }).sameShape, false);
  });

  it('reads .npy arrays', () => {
    const header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }";
    const padded = header.padEnd(117, ' ') + '\n';
    const bytes = new Uint8Array(10 + padded.length + 48);
    bytes.set(Buffer.from('\x93NUMPY', 'latin1'));
    bytes[6] = 1;
    new DataView(bytes.buffer).setUint16(8, padded.length, true);
    bytes.set(Buffer.from(padded, 'latin1'), 10);
    new BigInt64Array(bytes.buffer, 10 + padded.length, 6).set([0n, 1n, 2n, 3n, 4n, 5n]);
    const t = parseNpy(bytes, 'test.npy');
    assert.deepEqual(t.dims, [2, 3]);
    assert.equal(t.dtype, DType.INT64);
    assert.equal((t.data as BigInt64Array)[5], 5n);
    assert.throws(() => parseNpy(new Uint8Array(4), 'x.npy'), /not a \.npy file/);
  });
});
