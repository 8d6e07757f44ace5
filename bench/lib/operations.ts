/**
 * The I/O operations the benchmark measures, each run alone in a fresh process so that its peak memory is
 * its own. Every operation returns the bytes it moved; time and memory are taken around it.
 */
import fs from 'node:fs';
import { loadModel } from '../../src/io/load.js';
import { saveModel, type SaveResult } from '../../src/io/save.js';
import { Session } from '../../src/runtime/session.js';
import { DType } from '../../src/ir/dtype.js';
import type { Model } from '../../src/ir/model.js';
import { memoryFigures } from './peak-memory.js';

export interface OperationArgs {
  /** The model to read. */
  readonly input: string;
  /** Where to write, for the save operations. */
  readonly output: string;
}

export interface OperationResult {
  /** Bytes read or written (model file plus data files). */
  readonly bytes: number;
  /** Extra timings (ms) worth a line of their own. */
  readonly phases?: Readonly<Record<string, number>>;
  /** Memory figures (bytes) taken along the way. */
  readonly memory?: Readonly<Record<string, number>>;
  /** Run after time and memory were taken: throws if what was written differs from what was read. */
  readonly check?: () => void;
}

const CHUNK = 8 << 20;

function filesBytes(files: readonly string[]): number {
  return files.reduce((n, f) => n + fs.statSync(f).size, 0);
}

/** Reads every weight once; a word per 4 KB page feeds a checksum so no read can be skipped. */
function touchAll(model: Model, whole: boolean): number {
  let sum = 0;
  let bytes = 0;
  for (const v of model.graph.initializers) {
    const source = v.initializer?.byteSource;
    if (!source) continue;
    const pieces = whole ? [source.read()] : source.chunks(CHUNK);
    for (const piece of pieces) {
      for (let i = 0; i < piece.byteLength; i += 4096) sum = (sum + piece[i]!) | 0;
      bytes += piece.byteLength;
    }
  }
  return sum === 0.5 ? 0 : bytes; // never true: keeps `sum` alive
}

/**
 * The last tensors of two models are equal, compared chunk by chunk: the far end of the data, beyond
 * 4 GiB in a large run, where an offset error would show.
 */
function sameTail(a: string, b: string, count = 2): void {
  const [ia, ib] = [loadModel(a).graph.initializers, loadModel(b).graph.initializers];
  if (ia.length !== ib.length) throw new Error(`${b}: ${ib.length} tensors, ${a} has ${ia.length}`);
  for (let k = ia.length - count; k < ia.length; k++) {
    const [sa, sb] = [ia[k]!.initializer!.byteSource!, ib[k]!.initializer!.byteSource!];
    const [ga, gb] = [sa.chunks(CHUNK)[Symbol.iterator](), sb.chunks(CHUNK)[Symbol.iterator]()];
    for (let x = ga.next(), y = gb.next(); !x.done || !y.done; x = ga.next(), y = gb.next()) {
      if (x.done || y.done || !Buffer.from(x.value.buffer, x.value.byteOffset, x.value.byteLength).equals(y.value)) {
        throw new Error(`${b}: tensor '${ia[k]!.name}' differs from the input`);
      }
    }
  }
}

function saved(input: string, r: SaveResult): OperationResult {
  return { bytes: filesBytes([r.file, ...r.dataFiles.map((d) => d.file)]), check: () => sameTail(input, r.file) };
}

/** Creates a session from the path (external data memory-mapped), then runs 8 tokens once. */
async function session(input: string, config: Readonly<Record<string, string>>): Promise<OperationResult> {
  const bytes = filesBytes([input, `${input}.data`]);
  const t0 = performance.now();
  const s = await Session.fromFile(input, { config });
  const created = performance.now() - t0;
  const afterCreate = memoryFigures().peakRss;
  const ids = BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i + 1));
  const t1 = performance.now();
  await s.run({ input_ids: { dtype: DType.INT64, dims: [1, 8], data: ids } });
  const firstRun = performance.now() - t1;
  await s.release();
  return { bytes, phases: { create: created, 'first run (8 tokens)': firstRun }, memory: { 'peak RSS after create': afterCreate } };
}

export const OPERATIONS: Readonly<Record<string, (args: OperationArgs) => Promise<OperationResult> | OperationResult>> = {
  /** Nothing but the modules a measurement loads: the floor under every figure. */
  baseline: () => ({ bytes: 0 }),

  'load (stream)': ({ input }) => {
    const t0 = performance.now();
    const model = loadModel(input);
    const parsed = performance.now() - t0;
    return { bytes: fs.statSync(input).size + touchAll(model, false), phases: { parse: parsed } };
  },

  'load (whole tensors)': ({ input }) => ({ bytes: fs.statSync(input).size + touchAll(loadModel(input), true) }),

  'save external, one file': ({ input, output }) => saved(input, saveModel(loadModel(input), output, { externalData: 'external' })),

  'save external, 256 MB files': ({ input, output }) =>
    saved(input, saveModel(loadModel(input), output, { externalData: 'external', threshold: 4096, maxDataFileBytes: 256e6 })),

  'save inline (one .onnx)': ({ input, output }) => saved(input, saveModel(loadModel(input), output, { externalData: 'inline' })),

  'load inline + touch': ({ input }) => ({ bytes: touchAll(loadModel(input), false) }),

  /** The file is read whole (the bytes stay views of it); the save must not add a second copy. */
  'load inline + save inline': ({ input, output }) => {
    const r = saveModel(loadModel(input), output);
    return { bytes: fs.statSync(input).size + r.bytes, check: () => sameTail(input, r.file) };
  },

  /** onnxruntime copies (prepacks) MatMul weights into its own buffers while creating the session. */
  'onnxruntime session from path': ({ input }) => session(input, {}),

  /** Without prepacking the weights stay memory-mapped: shared page cache, counted in RSS once touched. */
  'onnxruntime session, prepacking off': ({ input }) => session(input, { 'session.disable_prepacking': '1' }),
};
