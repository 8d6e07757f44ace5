/**
 * Untrusted model bytes never crash the reader: every mutated model is either read (and then written
 * back, or refused with a typed error) or refused with an LlmoptError whose message is one line.
 * Replay a failing case with the seed and case number it prints:
 *   LLMOPT_FUZZ_SEED=<seed> LLMOPT_FUZZ_CASE=<n> node --test dist/test/onnx/fuzz.test.js
 * LLMOPT_FUZZ_SECONDS sets the time budget (default 20).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelFromBytes } from '../../src/io/load.js';
import { modelToBytes } from '../../src/io/save.js';
import { LlmoptError, ModelFormatError } from '../../src/errors.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { encodeMessage } from '../../src/onnx/encode.js';
import { AttributeType, type ModelProto } from '../../src/onnx/proto.js';
import { DType } from '../../src/ir/dtype.js';
import { mlpWithClutter } from '../helpers/tiny.js';
import { requireBackendData, skipBackendData } from '../helpers/onnx-test-data.js';
import { EXTERNAL_SEED, externalDataFolder, loadSeeds, type Seed } from './corpus.js';
import { MUTATORS, Random, mutate } from './mutate.js';
import { concat, varint } from './wire.js';

const SEED = Number(process.env.LLMOPT_FUZZ_SEED ?? 1);
const ONLY_CASE = process.env.LLMOPT_FUZZ_CASE === undefined ? undefined : Number(process.env.LLMOPT_FUZZ_CASE);
const BUDGET_MS = Number(process.env.LLMOPT_FUZZ_SECONDS ?? 20) * 1000;
const MAX_CASES = 1_000_000;
const MIN_CASES = 5000;
/** About 1 case in 34 uses the external seed: some 450 of them read from a folder. */
const EXTERNAL_CASES_BEFORE = 15_000;
const WHAT = 'fuzzed.onnx';

type Outcome = 'read and written' | 'refused on read' | 'refused on write';

/** Why an error breaks the contract (undefined when it is a typed, one-line error). */
function contractBreach(err: unknown): string | undefined {
  if (!(err instanceof LlmoptError)) {
    const e = err instanceof Error ? err : undefined;
    const where = e?.stack?.split('\n').slice(1, 4).map((l) => l.trim()).join(' < ') ?? '';
    return `untyped ${e?.constructor.name ?? typeof err}: ${e?.message ?? String(err)} (${where})`;
  }
  // The loader turns anything unexpected into "malformed model (...)": reaching that net means the reader
  // lacks a check of its own.
  if (/: malformed model \(/.test(err.message) && !(err.cause instanceof LlmoptError)) {
    return `reader crash caught only by the safety net: ${err.message}`;
  }
  // One plain line: no line breaks, and no control characters a terminal would act on.
  if (err.message.trim() === '' || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(err.message)) {
    return `${err.name} message is not one plain line: ${JSON.stringify(err.message)}`;
  }
  return undefined;
}

/** Reads and writes back one input; throws an AssertionError describing any breach of the contract. */
function readAndWrite(bytes: Uint8Array, baseDir?: string): Outcome {
  let model;
  try {
    model = modelFromBytes(bytes, { what: WHAT, baseDir });
  } catch (err) {
    const breach = contractBreach(err);
    if (breach) assert.fail(`modelFromBytes: ${breach}`);
    if (!(err as Error).message.startsWith(`${WHAT}: `)) assert.fail(`modelFromBytes: message does not name the file: ${(err as Error).message}`);
    return 'refused on read';
  }
  try {
    modelToBytes(model);
    return 'read and written';
  } catch (err) {
    const breach = contractBreach(err);
    if (breach) assert.fail(`modelToBytes: ${breach}`);
    return 'refused on write';
  }
}

/** Independent, reproducible randomness per case. */
const caseSeed = (seed: number, n: number) => (Math.imul(seed, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0;

describe('fuzzing the model reader', { skip: skipBackendData }, () => {
  let folder = '';
  before(() => { folder = externalDataFolder(); });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('reads and writes back every seed model', () => {
    for (const seed of loadSeeds(requireBackendData())) {
      const model = modelFromBytes(seed.bytes, { what: seed.name, baseDir: folder });
      // The external seed is written back with its bytes inline; the others are unchanged.
      if (seed.name !== EXTERNAL_SEED) assert.deepEqual(Buffer.from(modelToBytes(model)), Buffer.from(seed.bytes), seed.name);
      else assert.deepEqual([...modelFromBytes(modelToBytes(model)).graph.initializers[0]!.initializer!.bytes()], [...new Uint8Array(16).map((_, i) => 16 + i)]);
    }
  });

  it(`survives seeded mutations (seed ${SEED})`, (t) => {
    const seeds = loadSeeds(requireBackendData());
    const outcomes = new Map<Outcome, number>();
    const failures: string[] = [];
    const start = performance.now();
    let cases = 0;
    let lastCase = '';
    const first = ONLY_CASE ?? 0;
    const last = ONLY_CASE ?? MAX_CASES - 1;
    for (let n = first; n <= last && (ONLY_CASE !== undefined || performance.now() - start < BUDGET_MS); n++) {
      const r = new Random(caseSeed(SEED, n));
      const seed = r.pick(seeds);
      const m = mutate(seed.bytes, r);
      lastCase = `${seed.name}: ${m.what}`;
      cases++;
      // Only the external-data seed gets a folder, and only in early cases: reading its data file costs
      // file-system calls that would otherwise crowd out the in-memory cases.
      const baseDir = seed.name === EXTERNAL_SEED && n < EXTERNAL_CASES_BEFORE ? folder : undefined;
      try {
        const outcome = readAndWrite(m.bytes, baseDir);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      } catch (err) {
        failures.push(`case ${n} [${seed.name}: ${m.what}]: ${(err as Error).message}`);
        keepInput(seed, n, m.bytes);
      }
    }
    if (ONLY_CASE !== undefined) t.diagnostic(`case ${ONLY_CASE}: ${lastCase}`);
    const seconds = (performance.now() - start) / 1000;
    t.diagnostic(`${cases} cases in ${seconds.toFixed(1)} s over ${seeds.length} seed models and ${Object.keys(MUTATORS).length} mutators: `
      + [...outcomes].map(([k, v]) => `${v} ${k}`).join(', '));
    assert.deepEqual(failures.slice(0, 10), [],
      `${failures.length} cases broke the contract (replay one: LLMOPT_FUZZ_SEED=${SEED} LLMOPT_FUZZ_CASE=<case>; inputs kept in ${keptDir()})`);
    if (ONLY_CASE === undefined) {
      assert.ok(cases >= MIN_CASES, `only ${cases} cases ran in ${BUDGET_MS / 1000} s`);
      assert.ok((outcomes.get('read and written') ?? 0) > cases / 50, 'mutations reach the reader (some mutated models are still readable)');
    }
  });
});

const keptDir = () => path.join(os.tmpdir(), `llmopt-fuzz-${SEED}`);

/** Failing inputs are written out for a debugger; the case number replays them too. */
function keepInput(seed: Seed, n: number, bytes: Uint8Array): void {
  fs.mkdirSync(keptDir(), { recursive: true });
  fs.writeFileSync(path.join(keptDir(), `case-${n}-${seed.name.replace(/\W+/g, '_')}.onnx`), bytes);
}

/** Refused with a typed, one-line ModelFormatError that names the file and matches `pattern`. */
function assertRefused(bytes: Uint8Array, pattern: RegExp, baseDir?: string): void {
  assert.throws(() => modelFromBytes(bytes, { what: 'bad.onnx', baseDir }), (err: unknown) => {
    assert.equal(contractBreach(err), undefined);
    assert.ok(err instanceof ModelFormatError, `${(err as Error).name}: ${(err as Error).message}`);
    assert.match(err.message, /^bad\.onnx: /);
    assert.match(err.message, pattern);
    return true;
  });
}

const good = () => modelToBytes(mlpWithClutter());
/** The small test model with one change made to its message. */
function edited(change: (m: ModelProto) => void): Uint8Array {
  const proto = decodeModel(good(), 'good');
  change(proto);
  return encodeMessage('ModelProto', proto);
}

/** If nodes nested `depth` deep, written field by field (the encoder itself refuses deep messages). */
function nestedIfs(depth: number): Uint8Array {
  const field = (id: number, payload: Uint8Array) => concat(varint(BigInt((id << 3) | 2)), varint(BigInt(payload.byteLength)), payload);
  const text = (id: number, s: string) => field(id, new TextEncoder().encode(s));
  let graph = text(2, 'leaf'); // GraphProto.name
  for (let i = 0; i < depth; i++) {
    const attribute = concat(text(1, 'then_branch'), field(6, graph), varint(BigInt((20 << 3) | 0)), varint(BigInt(AttributeType.GRAPH)));
    graph = field(1, concat(text(4, 'If'), field(5, attribute))); // GraphProto.node = NodeProto{op_type, attribute}
  }
  return concat(varint(BigInt(1 << 3)), varint(8n), field(7, graph)); // ModelProto{ir_version: 8, graph}
}

describe('hand-made bad models', () => {
  it('an empty file', () => assertRefused(new Uint8Array(), /the file is empty/));

  it('a text file', () => assertRefused(new TextEncoder().encode('hello, this is not a model\n'), /not (a valid ONNX ModelProto|an ONNX model)/));

  it('a PNG header', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    assertRefused(png, /not (a valid ONNX ModelProto|an ONNX model)/);
  });

  it('a real model truncated at every length', () => {
    const bytes = good();
    assertRefused(bytes.subarray(0, bytes.byteLength >> 1), /not a valid ONNX ModelProto|truncated/);
    let refused = 0;
    for (let n = 1; n < bytes.byteLength; n++) if (readAndWrite(bytes.subarray(0, n)) === 'refused on read') refused++;
    // Cuts at a field boundary after the graph still read (what remains is a valid, smaller model).
    assert.ok(refused > bytes.byteLength * 0.9, `${refused} of ${bytes.byteLength - 1} cuts refused`);
  });

  it('IR version 99', () => assertRefused(edited((m) => { m.ir_version = 99; }), /IR version 99 is newer than supported/));

  it('a node reading an undefined value', () => {
    assertRefused(edited((m) => { m.graph!.node![1]!.input![0] = 'nowhere'; }), /reads 'nowhere', which is not defined/);
  });

  it('a value name defined twice', () => {
    assertRefused(edited((m) => { const [a, b] = m.graph!.node!; b!.output = [...a!.output!]; }), /value '[^']+' is defined twice/);
  });

  it('subgraphs nested 1000 deep (and the deepest readable nesting is also writable)', () => {
    assertRefused(nestedIfs(1000), /not a valid ONNX ModelProto \(max depth exceeded\)/);
    let depth = 1;
    while (readAndWrite(nestedIfs(depth + 1)) === 'read and written') depth++;
    assert.ok(depth >= 30, `only ${depth} levels of subgraphs can be read`);
    assertRefused(nestedIfs(depth + 1), /max depth exceeded/);
  });
});

describe('regressions found by fuzzing', () => {
  it('a name with a line break or control character is escaped: the message stays one line', () => {
    assertRefused(edited((m) => { m.graph!.node![1]!.input![0] = 'a\nb\u001b[31m'; }), /reads 'a\\nb\\u001b\[31m', which is not defined/);
  });

  describe('external data', () => {
    let dir = '';
    before(() => { dir = externalDataFolder(); });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pointingAt = (location: string, offset = '0', length = '16') => encodeMessage('ModelProto', {
      ir_version: 8,
      graph: {
        initializer: [{
          name: 'w', data_type: DType.FLOAT, dims: [4], data_location: 1,
          external_data: [{ key: 'location', value: location }, { key: 'offset', value: offset }, { key: 'length', value: length }],
        }],
        output: [{ name: 'w' }],
      },
    });

    it('a location that is a folder is refused when loading (it failed with EISDIR on first read)', () => {
      assertRefused(pointingAt('sub'), /external data location 'sub' is not a regular file/, dir);
    });

    it('a data file removed after loading gives a typed error on read', () => {
      const copy = fs.mkdtempSync(path.join(dir, 'copy-'));
      fs.copyFileSync(path.join(dir, 'weights.bin'), path.join(copy, 'weights.bin'));
      const model = modelFromBytes(pointingAt('weights.bin'), { what: 'm.onnx', baseDir: copy });
      fs.rmSync(path.join(copy, 'weights.bin'));
      assert.throws(() => modelToBytes(model), (err: unknown) => err instanceof ModelFormatError && /'weights\.bin' cannot be read \(ENOENT\)/.test(err.message));
    });

    const table: [string, string, string, RegExp | 'read'][] = [
      ['weights.bin', '16', '16', 'read'],
      ['weights.bin', '60', '16', /reads past the end of 'weights\.bin'/],
      ['weights.bin', '0', '12', /has external length 12, its shape needs 16 bytes/],
      ['weights.bin', '-1', '16', /invalid external offset '-1'/],
      ['missing.bin', '0', '16', /external data file 'missing\.bin' is missing/],
      ['link', '0', '16', /links outside the model's folder/],
      ['../weights.bin', '0', '16', /outside the model's folder/],
      ['/etc/passwd', '0', '16', /is absolute/],
    ];
    for (const [location, offset, length, expected] of table) {
      it(`location '${location}' offset ${offset} length ${length}: ${expected === 'read' ? 'read' : 'refused'}`, () => {
        const bytes = pointingAt(location, offset, length);
        if (expected !== 'read') return assertRefused(bytes, expected, dir);
        assert.equal(modelFromBytes(bytes, { what: 'm.onnx', baseDir: dir }).graph.initializers[0]!.initializer!.bytes().byteLength, 16);
      });
    }

    it('closes the data files it opened', () => {
      const open = () => fs.readdirSync('/proc/self/fd').length;
      const before = open();
      const models = Array.from({ length: 20 }, () => modelFromBytes(pointingAt('weights.bin'), { what: 'm.onnx', baseDir: dir }));
      for (const m of models) modelToBytes(m);
      // The models are still alive and can read again: no descriptor is held between reads.
      assert.equal(open() - before, 0, `${open() - before} descriptors left open after 20 loads`);
      assert.equal(models[19]!.graph.initializers[0]!.initializer!.bytes().byteLength, 16);
      assert.equal(open() - before, 0);
    });
  });
});
