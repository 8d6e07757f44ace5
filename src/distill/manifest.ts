/**
 * The JSON manifest beside a soft-label file: what produced it (tool version, teacher files and their
 * SHA-256), how (temperature, top-k, index type, hidden states, label kind), what is in it (arrays with
 * dtypes and shapes) and the data file's own SHA-256, so a training run can check it reads what it expects.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hashFile, type ArraySpec, type WrittenFile } from './array-file.js';
import { FileError } from '../errors.js';

export interface FileDigest {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface SoftLabelManifest {
  readonly format: 'llmopt-soft-labels';
  readonly formatVersion: 1;
  readonly tool: { readonly name: 'llmopt'; readonly version: string };
  /** The teacher model file first, then its external data files. */
  readonly teacher: readonly FileDigest[];
  readonly data: { readonly source: string; readonly rows: number };
  readonly labelsFile: FileDigest & { readonly format: 'npz' | 'safetensors' };
  readonly temperature: number;
  /** null: full probabilities (`probs`). */
  readonly topK: number | null;
  readonly indexType: 'int32' | 'int64' | null;
  readonly hiddenStates: readonly number[];
  /** How `labels` was made, or null when the file has none. */
  readonly labels: 'next-token' | 'masked-lm' | null;
  readonly vocabulary: number;
  readonly arrays: readonly ArraySpec[];
}

export async function digestFiles(files: readonly string[]): Promise<FileDigest[]> {
  const out: FileDigest[] = [];
  for (const f of files) out.push({ file: path.basename(f), bytes: fs.statSync(f).size, sha256: await hashFile(f) });
  return out;
}

export function digestOf(w: WrittenFile): FileDigest {
  return { file: path.basename(w.file), bytes: w.bytes, sha256: w.sha256 };
}

/** Writes JSON under a temporary name, then renames it into place. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const temp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx' });
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new FileError(`${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
