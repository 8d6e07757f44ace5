/**
 * The manifest `OUT.manifest.json` next to an output model: which bytes went in and came out (sha256 of
 * every file), the tool version, the resolved config, the measured figures and the gate results. Paths are
 * relative to the manifest's folder so that the manifest travels with the model as a CI artifact.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';

export interface FileDigest {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** `out.onnx` -> `out.manifest.json`; other names get the suffix appended. */
export function manifestPath(output: string): string {
  return output.endsWith('.onnx') ? `${output.slice(0, -'.onnx'.length)}.manifest.json` : `${output}.manifest.json`;
}

/** sha256 of a file, read in chunks (models with external data can be many gigabytes). */
export function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const buffer = Buffer.alloc(8 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Digests of files, named relative to `base` (posix separators). */
export function digestFiles(files: readonly string[], base: string): FileDigest[] {
  return files.map((f) => ({ path: relativePath(base, f), bytes: fs.statSync(f).size, sha256: sha256File(f) }));
}

export function relativePath(base: string, file: string): string {
  return path.relative(base, path.resolve(file)).split(path.sep).join('/') || '.';
}

/** Writes JSON through a temporary file and a rename, so a reader never sees half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeTextAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function writeTextAtomic(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    // Report folders (reports/, artifacts/) usually do not exist yet in a fresh CI checkout.
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new FileError(`${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
