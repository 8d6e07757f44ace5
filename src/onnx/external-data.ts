/**
 * External data: tensors whose bytes live in a side file next to the model (location relative to the
 * model's folder, offset, length). Locations are validated before any read: absolute paths and paths that
 * leave the model's folder are rejected. Bytes are read on demand, in bounded chunks when streamed; a data
 * file is open only during a read, and a file replaced or changed since the load is refused, not read.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StringStringEntryProto, TensorProto } from './proto.js';
import { ModelFormatError } from '../errors.js';

export interface ExternalRef {
  readonly location: string;
  readonly offset: number;
  readonly length: number | undefined;
}

export function parseExternalData(tp: TensorProto, what: string): ExternalRef {
  const entries = new Map((tp.external_data ?? []).map((e: StringStringEntryProto) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) throw new ModelFormatError(`${what}: tensor '${tp.name ?? ''}' is external but names no location`);
  const num = (key: string): number | undefined => {
    const raw = entries.get(key);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new ModelFormatError(`${what}: tensor '${tp.name ?? ''}' has invalid external ${key} '${raw}'`);
    return n;
  };
  return { location, offset: num('offset') ?? 0, length: num('length') };
}

/** Resolves a location against the model folder; throws unless it stays inside it. */
export function resolveLocation(location: string, baseDir: string, what: string): string {
  if (location.includes('\0') || path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) {
    throw new ModelFormatError(`${what}: external data location '${location}' is absolute; only paths inside the model's folder are allowed`);
  }
  const base = path.resolve(baseDir);
  const full = path.resolve(base, location);
  const rel = path.relative(base, full);
  if (rel === '' || leaves(rel)) {
    throw new ModelFormatError(`${what}: external data location '${location}' is outside the model's folder`);
  }
  // A symbolic link may point elsewhere: check where the file really is.
  if (fs.existsSync(full)) {
    const real = path.relative(fs.realpathSync(base), fs.realpathSync(full));
    if (leaves(real)) {
      throw new ModelFormatError(`${what}: external data location '${location}' links outside the model's folder`);
    }
  }
  return full;
}

/** A relative path that climbs out of its folder ('..' or '../x'; a name such as '..data' stays inside). */
export function leaves(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

/** Open files shared by all tensors of a load: each file is checked once, then opened only while read. */
export class ExternalFiles {
  private readonly seen = new Map<string, fs.Stats>();

  /** Size of a data file; remembers which file it was, so a later read can tell if it was replaced. */
  size(file: string, what: string): number {
    let stat = this.seen.get(file);
    if (stat === undefined) {
      try {
        stat = fs.statSync(file);
      } catch {
        throw new ModelFormatError(`${what}: external data file '${path.basename(file)}' is missing`);
      }
      // A folder or device has a size too, but reading it fails later, far from the cause.
      if (!stat.isFile()) throw new ModelFormatError(`${what}: external data location '${path.basename(file)}' is not a regular file`);
      this.seen.set(file, stat);
    }
    return stat.size;
  }

  /**
   * Opens a data file for one read (a whole tensor or one stream of chunks): no descriptor outlives the
   * read, so any number of loaded models hold none. The caller closes it.
   */
  open(file: string): number {
    const fd = readable(file, () => fs.openSync(file, 'r'));
    try {
      const then = this.seen.get(file);
      const now = readable(file, () => fs.fstatSync(fd));
      // Lazy bytes are only right while the file is the one that was checked when the model was loaded.
      if (then && (then.ino !== now.ino || then.dev !== now.dev || then.size !== now.size || then.mtimeMs !== now.mtimeMs)) {
        throw new ModelFormatError(`external data file '${path.basename(file)}' changed since the model was loaded`);
      }
      return fd;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  readInto(file: string, target: Uint8Array, position: number): void {
    const fd = this.open(file);
    try {
      readAt(file, fd, target, position);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Largest single read: one read(2) moves at most 2 GiB - 1 bytes, and Node refuses longer lengths. */
const MAX_READ = 1 << 30;

/** Fills `target` from `position` (exact above 2^32: positions are plain numbers up to 2^53). */
function readAt(file: string, fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.byteLength) {
    const want = Math.min(target.byteLength - done, MAX_READ);
    const n = readable(file, () => fs.readSync(fd, target, done, want, position + done));
    if (n === 0) throw new ModelFormatError(`external data file '${path.basename(file)}' ended early`);
    done += n;
  }
}

/** Runs a file operation; a failure (permissions, file replaced or removed since the load) names the file. */
function readable<T>(file: string, op: () => T): T {
  try {
    return op();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ModelFormatError(`external data file '${path.basename(file)}' cannot be read (${code})`, { cause: err });
  }
}

/** Bytes of one tensor in an external file; read whole on demand or streamed in chunks. */
export class ExternalFileSource {
  constructor(
    private readonly files: ExternalFiles,
    readonly file: string,
    readonly external: { readonly location: string; readonly offset: number; readonly length: number },
  ) {}

  get byteLength(): number { return this.external.length; }

  read(): Uint8Array {
    const out = new Uint8Array(this.external.length);
    this.files.readInto(this.file, out, this.external.offset);
    return out;
  }

  /** One descriptor for the whole stream, closed when the stream ends or the consumer stops early. */
  *chunks(chunk: number): Iterable<Uint8Array> {
    const { length, offset } = this.external;
    if (length === 0) return;
    const buf = new Uint8Array(Math.min(chunk, length));
    const fd = this.files.open(this.file);
    try {
      for (let at = 0; at < length; at += chunk) {
        const piece = buf.subarray(0, Math.min(chunk, length - at));
        readAt(this.file, fd, piece, offset + at);
        yield piece;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  describe(): string {
    return `${this.external.location}@${this.external.offset}+${this.external.length}`;
  }
}
