/** Token-id data files for tests. */
import fs from 'node:fs';
import { npyHeader } from '../../src/runtime/npy.js';

/** Writes int64 ids [rows, seq] as .npy: id i is (i * step + offset) mod vocab, deterministic. */
export function writeIdsNpy(file: string, rows: number, seq: number, vocab: number, step = 7, offset = 3): void {
  const header = npyHeader('<i8', [rows, seq]);
  const ids = new BigInt64Array(rows * seq);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * step + offset) % vocab);
  fs.writeFileSync(file, Buffer.concat([header, new Uint8Array(ids.buffer)]));
}
