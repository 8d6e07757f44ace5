/** Writes int64 token ids [rows, seq] as a .npy file (NumPy format version 1.0). */
import fs from 'node:fs';

export function writeIdsNpy(file: string, rows: number, seq: number, vocab: number): void {
  const header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${rows}, ${seq}), }`.padEnd(117, ' ') + '\n';
  const bytes = new Uint8Array(10 + header.length + rows * seq * 8);
  bytes.set(Buffer.from('\x93NUMPY', 'latin1'));
  bytes[6] = 1;
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(Buffer.from(header, 'latin1'), 10);
  const ids = new BigInt64Array(bytes.buffer, 10 + header.length, rows * seq);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 37 + 11) % vocab);
  fs.writeFileSync(file, bytes);
}
