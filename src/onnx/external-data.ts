/**
 * External data: tensors whose bytes live in a side file next to the model (location relative to the
 * model's folder, offset, length). Locations are validated before any read: absolute paths and paths that
 * leave the model's folder are rejected. Bytes are read on demand, in bounded chunks when streamed.
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
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ModelFormatError(`${what}: external data location '${location}' is outside the model's folder`);
  }
  // A symbolic link may point elsewhere: check where the file really is.
  if (fs.existsSync(full)) {
    const real = path.relative(fs.realpathSync(base), fs.realpathSync(full));
    if (real.startsWith('..') || path.isAbsolute(real)) {
      throw new ModelFormatError(`${what}: external data location '${location}' links outside the model's folder`);
    }
  }
  return full;
}

/** Open files shared by all tensors of a load; sizes checked once. */
export class ExternalFiles {
  private readonly sizes = new Map<string, number>();
  private readonly fds = new Map<string, number>();

  size(file: string, what: string): number {
    let size = this.sizes.get(file);
    if (size === undefined) {
      let stat: fs.Stats;
      try {
        stat = fs.statSync(file);
      } catch {
        throw new ModelFormatError(`${what}: external data file '${path.basename(file)}' is missing`);
      }
      // A folder or device has a size too, but reading it fails later, far from the cause.
      if (!stat.isFile()) throw new ModelFormatError(`${what}: external data location '${path.basename(file)}' is not a regular file`);
      size = stat.size;
      this.sizes.set(file, size);
    }
    return size;
  }

  fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = readable(file, () => fs.openSync(file, 'r'));
      this.fds.set(file, fd);
    }
    return fd;
  }

  readInto(file: string, target: Uint8Array, position: number): void {
    const fd = this.fd(file);
    let done = 0;
    while (done < target.byteLength) {
      const n = readable(file, () => fs.readSync(fd, target, done, target.byteLength - done, position + done));
      if (n === 0) throw new ModelFormatError(`external data file '${path.basename(file)}' ended early`);
      done += n;
    }
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
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

  *chunks(chunk: number): Iterable<Uint8Array> {
    const buf = new Uint8Array(Math.min(chunk, this.external.length));
    for (let at = 0; at < this.external.length; at += chunk) {
      const piece = buf.subarray(0, Math.min(chunk, this.external.length - at));
      this.files.readInto(this.file, piece, this.external.offset + at);
      yield piece;
    }
  }

  describe(): string {
    return `${this.external.location}@${this.external.offset}+${this.external.length}`;
  }
}
