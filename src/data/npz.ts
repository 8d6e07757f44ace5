/**
 * NumPy .npz archives (zip files of .npy members, stored or deflated). Only what numpy writes is read:
 * the central directory, local headers, methods 0 and 8. Members are inflated one at a time.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { parseNpy } from '../runtime/npy.js';
import type { HostTensor } from '../runtime/tensors.js';
import { ConfigError } from '../errors.js';

export function readNpz(file: string): Map<string, HostTensor> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new ConfigError(`${file}: cannot read the data file`);
  }
  const out = new Map<string, HostTensor>();
  for (const entry of centralDirectory(bytes, file)) {
    if (!entry.name.endsWith('.npy')) continue;
    const local = entry.localOffset;
    if (bytes.readUInt32LE(local) !== 0x04034b50) throw new ConfigError(`${file}: damaged zip member '${entry.name}'`);
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const raw = bytes.subarray(start, start + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) data = raw;
    else if (entry.method === 8) data = zlib.inflateRawSync(raw);
    else throw new ConfigError(`${file}: member '${entry.name}' uses unsupported zip method ${entry.method}`);
    out.set(entry.name.slice(0, -4), parseNpy(data, `${file}:${entry.name}`));
  }
  return out;
}

interface Entry { name: string; method: number; compressedSize: number; localOffset: number }

function centralDirectory(bytes: Buffer, file: string): Entry[] {
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) { end = i; break; }
  }
  if (end < 0) throw new ConfigError(`${file}: not a .npz (zip) file`);
  const count = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    if (bytes.readUInt32LE(at) !== 0x02014b50) throw new ConfigError(`${file}: damaged zip directory`);
    const nameLength = bytes.readUInt16LE(at + 28);
    entries.push({
      method: bytes.readUInt16LE(at + 10),
      compressedSize: bytes.readUInt32LE(at + 20),
      localOffset: bytes.readUInt32LE(at + 42),
      name: bytes.subarray(at + 46, at + 46 + nameLength).toString('utf8'),
    });
    at += 46 + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  return entries;
}
