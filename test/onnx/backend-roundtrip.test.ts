/**
 * The ONNX backend test data through our codec: every model and every test-data message re-encodes to
 * the exact input bytes, and onnxruntime computes bit-identical outputs from the original and the
 * re-encoded model (and from a rewrite where every tensor is re-serialized from the IR's bytes).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { loadModel } from '../../src/io/load.js';
import { modelToBytes, saveModel } from '../../src/io/save.js';
import { decodeMessage, decodeModel } from '../../src/onnx/decode.js';
import { encodeMessage } from '../../src/onnx/encode.js';
import type { Model } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import type { Feeds } from '../../src/runtime/tensors.js';
import {
  dataSetDirs, dataSetFiles, findModels, readFeeds, requireBackendData, skipBackendData,
} from '../helpers/onnx-test-data.js';
import { differenceOf, open, run, sameBytes } from './same-outputs.js';

const rel = (file: string) => path.relative(requireBackendData(), file);

/** First problems in full, the rest counted: a readable failure when something regresses everywhere. */
function assertNone(problems: readonly string[], what: string): void {
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} ${what}${problems.length > 10 ? ' (first 10 shown)' : ''}`);
}

describe('ONNX backend test data', { skip: skipBackendData }, () => {
  let tmp = '';
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-backend-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('loads and saves every model byte for byte (file and in-memory)', (t) => {
    const models = findModels(requireBackendData());
    assert.ok(models.length >= 1000, `only ${models.length} models found`);
    const problems: string[] = [];
    let identical = 0;
    for (const [i, file] of models.entries()) {
      const input = fs.readFileSync(file);
      try {
        const model = loadModel(file);
        const out = path.join(tmp, `m${i}.onnx`);
        saveModel(model, out);
        const saved = fs.readFileSync(out);
        fs.rmSync(out);
        if (!sameBytes(saved, input)) { problems.push(`${rel(file)}: saveModel wrote ${saved.byteLength} bytes, read ${input.byteLength}, or they differ`); continue; }
        if (!sameBytes(modelToBytes(model), input)) { problems.push(`${rel(file)}: modelToBytes differs from the file`); continue; }
        identical++;
      } catch (err) {
        problems.push(`${rel(file)}: ${(err as Error).message}`);
      }
    }
    t.diagnostic(`${identical}/${models.length} models byte-identical after load -> save`);
    assertNone(problems, 'models changed on a round trip');
    assert.equal(identical, models.length);
  });

  it('decodes and re-encodes every test-data message byte for byte', (t) => {
    const perType = new Map<string, number>();
    const problems: string[] = [];
    let total = 0;
    for (const file of findModels(requireBackendData())) {
      const proto = decodeModel(fs.readFileSync(file), file);
      for (const dir of dataSetDirs(file)) {
        const { inputs, outputs } = dataSetFiles(proto, dir);
        for (const f of [...inputs, ...outputs]) {
          total++;
          const bytes = fs.readFileSync(f.file);
          try {
            const message = decodeMessage<{ name?: string }>(f.typeName, bytes, f.file);
            if (!sameBytes(encodeMessage(f.typeName, message), bytes)) { problems.push(`${rel(f.file)} (${f.typeName}): re-encoded bytes differ`); continue; }
            // The file belongs to the value at its position (the message's name, where set, says which).
            if (message.name && message.name !== f.decl?.name) { problems.push(`${rel(f.file)}: holds '${message.name}', expected '${f.decl?.name}'`); continue; }
            perType.set(f.typeName, (perType.get(f.typeName) ?? 0) + 1);
          } catch (err) {
            problems.push(`${rel(f.file)} (${f.typeName}): ${(err as Error).message}`);
          }
        }
      }
    }
    t.diagnostic(`${total} .pb files: ${[...perType].map(([k, n]) => `${n} ${k}`).join(', ')}`);
    assertNone(problems, 'test-data messages changed on a round trip');
    assert.ok(total >= 3000, `only ${total} .pb files found`);
    assert.ok((perType.get('SequenceProto') ?? 0) > 0 && (perType.get('OptionalProto') ?? 0) > 0, 'non-tensor containers are exercised');
  });

  it('runs the original and the re-encoded models with bit-identical outputs in onnxruntime', async (t) => {
    const tally = { checked: 0, rewritten: 0, runs: 0, refused: 0, runRefused: 0, skipped: new Map<string, number>() };
    const problems: string[] = [];
    for (const file of findModels(requireBackendData())) {
      const sets = dataSetDirs(file);
      if (sets.length === 0) continue;
      const original = fs.readFileSync(file);
      const proto = decodeModel(original, file);
      const feeds = sets.map((dir) => readFeeds(proto, dir));
      const unsupported = feeds.find((f): f is string => typeof f === 'string');
      if (unsupported) { bump(tally.skipped, unsupported); continue; }
      const problem = await compareVariants(original, variantsOf(file), feeds as Feeds[], tally);
      if (problem) problems.push(`${rel(file)}: ${problem}`);
    }
    const skipped = [...tally.skipped].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n} ${why}`).join(', ');
    t.diagnostic(`${tally.checked} models (${tally.runs} data sets, ${tally.rewritten} also with tensors rewritten) identical in onnxruntime; `
      + `${tally.refused} refused by onnxruntime (and again, alike, after re-encoding), ${tally.runRefused} failed to run (alike); `
      + `skipped: ${skipped}`);
    assertNone(problems, 'models whose onnxruntime results changed');
    assert.ok(tally.checked >= 800, `only ${tally.checked} models compared in onnxruntime`);
  });
});

/** Re-encodings of one model: as loaded, and with every tensor rewritten from the IR's bytes. */
function variantsOf(file: string): { name: string; bytes: Uint8Array }[] {
  const reencoded = modelToBytes(loadModel(file));
  const rewritten = loadModel(file);
  const n = markTensorsModified(rewritten);
  const variants = [{ name: 're-encoded', bytes: reencoded }];
  if (n > 0) variants.push({ name: `rewritten (${n} tensors)`, bytes: modelToBytes(rewritten) });
  return variants;
}

/** Forces every tensor with a byte form to be written from its bytes (typed fields become raw_data). */
function markTensorsModified(model: Model): number {
  let n = 0;
  const touch = (x: Tensor) => { if (x.hasBytes) { x.setBytes(x.bytes()); n++; } };
  for (const g of model.graph.graphsDeep()) {
    for (const v of g.initializers) touch(v.initializer!);
    for (const node of g.nodes) {
      for (const a of node.attributes.values()) {
        if (a.type === 'tensor') touch(a.value);
        else if (a.type === 'tensors') a.value.forEach(touch);
      }
    }
  }
  return n;
}

interface Tally { checked: number; rewritten: number; runs: number; refused: number; runRefused: number }

/** Loads and runs every variant next to the original; a description of the first difference, if any. */
async function compareVariants(original: Uint8Array, variants: { name: string; bytes: Uint8Array }[], feeds: Feeds[], tally: Tally): Promise<string | undefined> {
  const base = await open(original);
  const others: ort.InferenceSession[] = [];
  try {
    for (const v of variants) {
      const s = await open(v.bytes);
      if (typeof base === 'string' || typeof s === 'string') {
        if (typeof base === 'string' && typeof s === 'string') {
          if (s !== base) return `the ${v.name} model is refused for another reason: ${s} (original: ${base})`;
          continue;
        }
        if (typeof s !== 'string') await s.release();
        return typeof base === 'string' ? `onnxruntime refuses the original (${base}) but loads the ${v.name} model` : `the ${v.name} model is refused: ${s}`;
      }
      others.push(s);
    }
    if (typeof base === 'string') { tally.refused++; return undefined; }
    for (const [i, f] of feeds.entries()) {
      const want = await run(base, f);
      for (const [j, s] of others.entries()) {
        const got = await run(s, f);
        const diff = typeof want === 'string' || typeof got === 'string'
          ? (want === got ? undefined : `runs differ: ${String(want)} / ${String(got)}`)
          : differenceOf(want, got);
        if (diff) return `data set ${i}, ${variants[j]!.name}: ${diff}`;
      }
      if (typeof want === 'string') { tally.runRefused++; return undefined; }
      tally.runs++;
    }
    tally.checked++;
    if (variants.length > 1) tally.rewritten++;
    return undefined;
  } finally {
    if (typeof base !== 'string') await base.release();
    for (const s of others) await s.release();
  }
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
