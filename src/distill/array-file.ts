/**
 * Writing several arrays into one file, row block by row block, in fixed memory. Every array's shape is known
 * before the first row, so the file's layout is too: each array gets its byte range up front and rows are
 * written at their offsets as they come (the arrays interleave in time, not in the file). The file is written
 * under a temporary name and renamed into place only when every array is complete.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { FileError, InvariantError } from '../errors.js';

export type ArrayDtype = 'float32' | 'int64' | 'int32';

export interface ArraySpec {
  readonly name: string;
  readonly dtype: ArrayDtype;
  readonly shape: readonly number[];
}

export const BYTES_PER: Readonly<Record<ArrayDtype, number>> = { float32: 4, int64: 8, int32: 4 };

export function byteSize(spec: ArraySpec): number {
  return spec.shape.reduce((a, b) => a * b, 1) * BYTES_PER[spec.dtype];
}

/** Where an array's raw data goes, and what its container wants to know once it is written. */
export interface Placement {
  readonly spec: ArraySpec;
  /** Offset of the array's first data byte in the file. */
  readonly dataOffset: number;
  readonly dataBytes: number;
  written: number;
  /** CRC-32 of the bytes written so far (zip members need it). */
  crc: number;
}

export interface WrittenFile {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** The container format: its layout, what to write before the data, and what to write at the end. */
export interface Container {
  /** Bytes before and between the data ranges, written when the file opens. */
  readonly prologue: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  readonly placements: readonly Placement[];
  /** Bytes written once all data is in (zip headers carry CRCs); may be empty. */
  epilogue(): readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  readonly totalBytes: number;
}

export class ArrayFileWriter {
  private readonly fd: number;
  private readonly temp: string;
  private readonly byName: Map<string, Placement>;
  private closed = false;

  constructor(readonly file: string, private readonly container: Container) {
    this.temp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
    try {
      this.fd = fs.openSync(this.temp, 'wx');
    } catch (err) {
      throw new FileError(`${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    this.byName = new Map(container.placements.map((p) => [p.spec.name, p]));
    for (const part of container.prologue) this.write(part.bytes, part.offset);
  }

  /** Appends the next rows of one array (raw little-endian bytes). */
  append(name: string, bytes: Uint8Array): void {
    const p = this.byName.get(name);
    if (!p) throw new InvariantError(`no array '${name}' in ${this.file}`);
    if (p.written + bytes.byteLength > p.dataBytes) throw new InvariantError(`array '${name}' overflows its ${p.dataBytes} bytes`);
    this.write(bytes, p.dataOffset + p.written);
    p.crc = zlib.crc32(bytes, p.crc);
    p.written += bytes.byteLength;
  }

  /** Checks completeness, writes the container's end, hashes the file and renames it into place. */
  async finish(): Promise<WrittenFile> {
    try {
      for (const p of this.container.placements) {
        if (p.written !== p.dataBytes) throw new InvariantError(`array '${p.spec.name}' got ${p.written} of ${p.dataBytes} bytes`);
      }
      for (const part of this.container.epilogue()) this.write(part.bytes, part.offset);
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.closed = true;
      const sha256 = await hashFile(this.temp);
      fs.renameSync(this.temp, this.file);
      return { file: path.resolve(this.file), bytes: this.container.totalBytes, sha256 };
    } catch (err) {
      this.abort();
      if (err instanceof InvariantError) throw err;
      throw new FileError(`${this.file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
  }

  /** Drops the temporary file; nothing is left behind. */
  abort(): void {
    if (!this.closed) { fs.closeSync(this.fd); this.closed = true; }
    fs.rmSync(this.temp, { force: true });
  }

  private write(bytes: Uint8Array, position: number): void {
    let done = 0;
    while (done < bytes.byteLength) done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done, position + done);
  }
}

/** SHA-256 of a file, read in pieces. */
export async function hashFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 8 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
