/**
 * Writes a model: tensor bytes are streamed straight to the files (never a second copy of the model in
 * memory), into temporary files that are renamed into place only when everything was written (atomic),
 * and never over the files the model was read from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { modelToProto, tensorOfProto, copyMessage } from '../ir/to-proto.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { encodeChunks, encodeMessage, streamedRawData, type Piece } from '../onnx/encode.js';
import { DataLocation, type GraphProto, type ModelProto, type TensorProto } from '../onnx/proto.js';
import { has } from '../onnx/presence.js';
import { ExternalFileSource, leaves } from '../onnx/external-data.js';
import { sourceFilesOf } from './load.js';
import { FileError, LlmoptError } from '../errors.js';

export interface SaveOptions {
  /**
   * keep: tensors stay where they were (external stays external, inline stays inline; new tensors follow
   * the model's majority); external: every tensor of at least `threshold` bytes goes to external data;
   * inline: everything in the .onnx file.
   */
  readonly externalData?: 'keep' | 'external' | 'inline';
  /** Smallest tensor moved to external data (bytes). */
  readonly threshold?: number;
  /** Data file name, relative to the output's folder (default: `<output file name>.data`). */
  readonly dataFile?: string;
  /** Start a new data file when one would grow past this many bytes. */
  readonly maxDataFileBytes?: number;
}

export interface SaveResult {
  readonly file: string;
  readonly bytes: number;
  readonly dataFiles: readonly { file: string; bytes: number }[];
}

const CHUNK = 8 << 20;
/** Unchanged inline tensors from this size on are streamed too (smaller ones cost more in pieces than in copies). */
const STREAM_INLINE_MIN = 64 << 10;
/** protobuf cannot read a message of 2 GiB or more. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;
const ALIGN = 64;
/** Above this a single .onnx file cannot be read back (protobuf's 2 GiB limit): external data is forced. */
const INLINE_LIMIT = 2 ** 31 - (64 << 20);

export function saveModel(model: Model, output: string, options: SaveOptions = {}): SaveResult {
  const out = path.resolve(output);
  const dir = path.dirname(out);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new FileError(`${output}: folder '${dir}' does not exist`);
  if (fs.statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw new FileError(`${output}: is a folder; name the output file`);
  const proto = modelToProto(model);
  const sources = filesReadBy(model, proto);
  const input = sources.find((f) => sameFile(f, out));
  if (input !== undefined) {
    throw new FileError(`${output}: refusing to overwrite the input ('${path.basename(input)}' is read by the model); choose another output path`);
  }

  const dataFile = options.dataFile ?? `${path.basename(out)}.data`;
  checkDataFile(output, dir, dataFile);
  const plan = new DataPlan(dir, dataFile, options.maxDataFileBytes ?? Infinity);
  placeTensors(proto, plan, options);
  for (const f of plan.files()) {
    if (sameFile(f, out)) throw new FileError(`${output}: the data file '${path.basename(f)}' would be the output model itself; choose another data file name`);
    if (sources.some((s) => sameFile(s, f))) throw new FileError(`${output}: its data file '${path.basename(f)}' is one the input reads from; choose another output name`);
  }

  const temps: string[] = [];
  try {
    const pieces = encodeChunks(proto);
    const size = pieces.reduce((n, p) => n + p.byteLength, 0);
    if (size > PROTOBUF_LIMIT) {
      throw new FileError(`${output}: the model file would be ${size} bytes, more than protobuf can read (2 GiB); move weights to external data (a lower threshold)`);
    }
    const dataFiles = plan.write((file) => { const t = tempName(file); temps.push(t); return t; });
    const modelTemp = tempName(out);
    temps.push(modelTemp);
    const bytes = writePieces(modelTemp, pieces);
    for (const d of dataFiles) fs.renameSync(d.temp, d.file);
    fs.renameSync(modelTemp, out);
    return { file: out, bytes, dataFiles: dataFiles.map((d) => ({ file: d.file, bytes: d.bytes })) };
  } catch (err) {
    for (const t of temps) fs.rmSync(t, { force: true });
    // A typed error (an input data file that vanished, say) already names its file and problem.
    if (err instanceof LlmoptError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileError(`${output}: cannot write (${code ?? (err as Error).message})`, { cause: err });
  }
}

/**
 * Files the model's bytes come from: the files it was loaded from and the data files its tensors read
 * lazily (a copy of a loaded model shares them). Writing over any of them would corrupt what is written.
 */
function filesReadBy(model: Model, proto: ModelProto): string[] {
  const files = new Set(sourceFilesOf.get(model) ?? []);
  forEachTensorProto(proto, (tp) => {
    const source = tensorOfProto.get(tp)?.byteSource;
    if (source instanceof ExternalFileSource) files.add(source.file);
  });
  return [...files];
}

/** The same file by path, or through another spelling, a symbolic link or a hard link. */
function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  const x = fs.statSync(a, { throwIfNoEntry: false });
  const y = fs.statSync(b, { throwIfNoEntry: false });
  return x !== undefined && y !== undefined && x.dev === y.dev && x.ino === y.ino;
}

/** A data file the loader would refuse (absolute, outside the folder) must not be written either. */
function checkDataFile(output: string, dir: string, dataFile: string): void {
  const rel = path.relative(dir, path.resolve(dir, dataFile));
  if (dataFile === '' || dataFile.includes('\0') || path.isAbsolute(dataFile) || rel === '' || leaves(rel)) {
    throw new FileError(`${output}: data file '${dataFile}' must be a relative path inside the output's folder`);
  }
}

/** The model as a message with every tensor's bytes inline (for in-memory sessions of small models). */
export function modelToInlineProto(model: Model): ModelProto {
  const proto = modelToProto(model);
  forEachTensorProto(proto, (tp, replace) => {
    const t = tensorOfProto.get(tp);
    if (!t || !needsBytes(tp, t)) return;
    replace(inlineCopy(tp, t.bytes()));
  });
  return proto;
}

/** The model as one in-memory buffer with every tensor inline. */
export function modelToBytes(model: Model): Uint8Array {
  return encodeMessage('ModelProto', modelToInlineProto(model));
}

function needsBytes(tp: TensorProto, t: Tensor): boolean {
  return t.hasBytes && (t.modified || tp.data_location === DataLocation.EXTERNAL);
}

function inlineCopy(tp: TensorProto, bytes: Uint8Array | undefined): TensorProto {
  const copy = copyMessage(tp);
  delete copy.external_data;
  delete copy.data_location;
  if (bytes) copy.raw_data = bytes;
  return copy;
}

function placeTensors(proto: ModelProto, plan: DataPlan, options: SaveOptions): void {
  const threshold = options.threshold ?? 1024;
  const mode = options.externalData ?? 'keep';
  const top = proto.graph?.initializer ?? [];
  const tensors = top.map((tp) => tensorOfProto.get(tp));
  const total = tensors.reduce((n, t) => n + (t?.byteLength ?? 0), 0);
  const externalNow = tensors.filter((t) => t?.byteSource?.external).length;
  const defaultExternal = mode === 'external' || (mode === 'keep' && externalNow * 2 > tensors.length) || total > INLINE_LIMIT;

  top.forEach((tp, i) => {
    const t = tensors[i];
    if (!t?.hasBytes) return;
    const wasExternal = tp.data_location === DataLocation.EXTERNAL;
    const external = mode === 'inline' && total <= INLINE_LIMIT ? false
      : mode === 'keep' && !t.modified && total <= INLINE_LIMIT ? wasExternal
      : defaultExternal && t.byteLength >= threshold;
    if (external) top[i] = plan.add(tp, t);
    else if (wasExternal || t.modified) {
      const copy = inlineCopy(tp, undefined);
      streamedRawData.set(copy, t.byteSource!);
      top[i] = copy;
    } else if (has(tp, 'raw_data') && t.byteLength >= STREAM_INLINE_MIN) {
      // Unchanged bytes go to the file straight from the loaded buffer: encoding the message would copy
      // them first, and saving an inline model would then hold it twice. The pieces encode identically.
      const copy = copyMessage(tp);
      streamedRawData.set(copy, t.byteSource!);
      top[i] = copy;
    }
  });
  // Tensors below the top level (Constant attributes, subgraph initializers) are small: inline bytes.
  forEachTensorProto(proto, (tp, replace) => {
    const t = tensorOfProto.get(tp);
    if (t && needsBytes(tp, t)) replace(inlineCopy(tp, t.bytes()));
  }, true);
}

/** Visits tensor messages in nested graphs, node attributes and functions; `replace` swaps the message. */
function forEachTensorProto(
  proto: ModelProto,
  visit: (tp: TensorProto, replace: (t: TensorProto) => void) => void,
  skipTopInitializers = false,
): void {
  const graph = (g: GraphProto, top: boolean) => {
    if (!(top && skipTopInitializers)) list(g.initializer);
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        if (a.t) visit(a.t, (t) => { a.t = t; });
        list(a.tensors);
        if (a.g) graph(a.g, false);
        for (const sub of a.graphs ?? []) graph(sub, false);
      }
    }
  };
  const list = (items: TensorProto[] | undefined) => items?.forEach((tp, i) => visit(tp, (t) => { items[i] = t; }));
  if (proto.graph) graph(proto.graph, true);
  for (const f of proto.functions ?? []) graph({ node: f.node ?? [] }, false);
}

interface PlannedTensor { readonly source: NonNullable<Tensor['byteSource']>; readonly offset: number }

/** Assigns offsets in one or more data files; written at the end in one streaming pass. */
class DataPlan {
  private readonly parts: { file: string; location: string; size: number; items: PlannedTensor[] }[] = [];

  constructor(private readonly dir: string, private readonly baseName: string, private readonly maxBytes: number) {}

  files(): string[] { return this.parts.map((p) => p.file); }

  add(tp: TensorProto, t: Tensor): TensorProto {
    const source = t.byteSource!;
    let part = this.parts[this.parts.length - 1];
    const start = part ? align(part.size) : 0;
    if (!part || (part.items.length > 0 && start + source.byteLength > this.maxBytes)) {
      const location = this.parts.length === 0 ? this.baseName : `${this.baseName}.${this.parts.length}`;
      part = { file: path.join(this.dir, location), location, size: 0, items: [] };
      this.parts.push(part);
    }
    const offset = align(part.size);
    part.items.push({ source, offset });
    part.size = offset + source.byteLength;
    const copy = inlineCopy(tp, undefined);
    delete copy.raw_data;
    delete copy.float_data; delete copy.int32_data; delete copy.int64_data; delete copy.double_data; delete copy.uint64_data;
    copy.data_location = DataLocation.EXTERNAL;
    copy.external_data = [
      { key: 'location', value: part.location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(source.byteLength) },
    ];
    return copy;
  }

  write(temp: (file: string) => string): { file: string; temp: string; bytes: number }[] {
    return this.parts.map((part) => {
      const t = temp(part.file);
      const fd = fs.openSync(t, 'w');
      try {
        let at = 0;
        const zeros = new Uint8Array(ALIGN);
        for (const item of part.items) {
          if (item.offset > at) fs.writeSync(fd, zeros, 0, item.offset - at);
          at = item.offset;
          for (const chunk of item.source.chunks(CHUNK)) at += writeAll(fd, chunk);
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return { file: part.file, temp: t, bytes: part.size };
    });
  }
}

function writePieces(file: string, pieces: Piece[]): number {
  const fd = fs.openSync(file, 'w');
  let total = 0;
  try {
    for (const p of pieces) {
      if (p instanceof Uint8Array) total += writeAll(fd, p);
      else for (const chunk of p.chunks(CHUNK)) total += writeAll(fd, chunk);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return total;
}

/** Largest single write: one write(2) moves at most 2 GiB - 1 bytes. */
const MAX_WRITE = 1 << 30;

function writeAll(fd: number, bytes: Uint8Array): number {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, MAX_WRITE));
  return done;
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}
