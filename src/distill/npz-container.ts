/**
 * The .npz layout (a zip of `.npy` members, as numpy.savez writes it, uncompressed): per array a local
 * header, the .npy header and the raw data; then the central directory. Sizes are known up front, so every
 * offset is; only the CRC-32 of each member waits for its data, and the local headers are written last.
 * Zip64 records are used when the file reaches 4 GiB.
 *   [local header][npy header][data] … [central directory][zip64 end + locator][end of central directory]
 */
import zlib from 'node:zlib';
import { npyHeader as npyHeaderOf } from '../runtime/npy.js';
import { byteSize, type ArraySpec, type Container, type Placement } from './array-file.js';

const LIMIT = 0xffffffff;
/** DOS date 1980-01-01, time 00:00: members carry no clock (the file is reproducible). */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

export function npzContainer(specs: readonly ArraySpec[], options: { zip64?: boolean } = {}): Container {
  const names = specs.map((s) => Buffer.from(`${s.name}.npy`, 'utf8'));
  const headers = specs.map(npyHeader);
  const sizes = specs.map((s, i) => headers[i]!.byteLength + byteSize(s));
  const plainTotal = sizes.reduce((a, s, i) => a + 30 + names[i]!.byteLength + s, 0);
  const zip64 = options.zip64 ?? plainTotal + specs.length * 100 >= LIMIT;
  const localExtra = zip64 ? 20 : 0;
  const members: { offset: number; name: Buffer; size: number }[] = [];
  const placements: Placement[] = [];
  // The npy header is part of each member's CRC; it is written first, so the running CRC starts with it.
  const prologue: { offset: number; bytes: Uint8Array }[] = [];
  let at = 0;
  specs.forEach((spec, i) => {
    const header = 30 + names[i]!.byteLength + localExtra;
    members.push({ offset: at, name: names[i]!, size: sizes[i]! });
    prologue.push({ offset: at + header, bytes: headers[i]! });
    placements.push({ spec, dataOffset: at + header + headers[i]!.byteLength, dataBytes: byteSize(spec), written: 0, crc: zlib.crc32(headers[i]!) });
    at += header + sizes[i]!;
  });
  const directory = centralDirectory(members, zip64);
  const end = endRecords(members.length, at, directory.byteLength, zip64);
  return {
    prologue,
    placements,
    totalBytes: at + directory.byteLength + end.byteLength,
    epilogue: () => {
      const withCrc = members.map((m, i) => ({ ...m, crc: placements[i]!.crc }));
      const locals = withCrc.map((m) => ({ offset: m.offset, bytes: localHeader(m.name, m.size, m.crc, zip64) }));
      return [...locals, { offset: at, bytes: centralDirectory(withCrc, zip64) }, { offset: at + directory.byteLength, bytes: end }];
    },
  };
}

/** The .npy v1.0 header of one member. */
export function npyHeader(spec: ArraySpec): Uint8Array {
  return npyHeaderOf({ float32: '<f4', int64: '<i8', int32: '<i4' }[spec.dtype], spec.shape);
}

function localHeader(name: Buffer, size: number, crc: number, zip64: boolean): Uint8Array {
  const b = Buffer.alloc(30 + name.byteLength + (zip64 ? 20 : 0));
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(zip64 ? 45 : 20, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt16LE(0, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt16LE(DOS_DATE, 12);
  b.writeUInt32LE(crc >>> 0, 14);
  b.writeUInt32LE(zip64 ? LIMIT : size, 18);
  b.writeUInt32LE(zip64 ? LIMIT : size, 22);
  b.writeUInt16LE(name.byteLength, 26);
  b.writeUInt16LE(zip64 ? 20 : 0, 28);
  name.copy(b, 30);
  if (zip64) {
    const x = 30 + name.byteLength;
    b.writeUInt16LE(0x0001, x);
    b.writeUInt16LE(16, x + 2);
    b.writeBigUInt64LE(BigInt(size), x + 4);
    b.writeBigUInt64LE(BigInt(size), x + 12);
  }
  return b;
}

function centralDirectory(members: readonly { offset: number; name: Buffer; size: number; crc?: number }[], zip64: boolean): Uint8Array {
  const parts = members.map((m) => {
    const b = Buffer.alloc(46 + m.name.byteLength + (zip64 ? 28 : 0));
    b.writeUInt32LE(0x02014b50, 0);
    b.writeUInt16LE(zip64 ? 45 : 20, 4);
    b.writeUInt16LE(zip64 ? 45 : 20, 6);
    b.writeUInt16LE(0, 8);
    b.writeUInt16LE(0, 10);
    b.writeUInt16LE(0, 12);
    b.writeUInt16LE(DOS_DATE, 14);
    b.writeUInt32LE((m.crc ?? 0) >>> 0, 16);
    b.writeUInt32LE(zip64 ? LIMIT : m.size, 20);
    b.writeUInt32LE(zip64 ? LIMIT : m.size, 24);
    b.writeUInt16LE(m.name.byteLength, 28);
    b.writeUInt16LE(zip64 ? 28 : 0, 30);
    b.writeUInt32LE(zip64 ? LIMIT : m.offset, 42);
    m.name.copy(b, 46);
    if (zip64) {
      const x = 46 + m.name.byteLength;
      b.writeUInt16LE(0x0001, x);
      b.writeUInt16LE(24, x + 2);
      b.writeBigUInt64LE(BigInt(m.size), x + 4);
      b.writeBigUInt64LE(BigInt(m.size), x + 12);
      b.writeBigUInt64LE(BigInt(m.offset), x + 20);
    }
    return b;
  });
  return Buffer.concat(parts);
}

function endRecords(count: number, directoryOffset: number, directoryBytes: number, zip64: boolean): Uint8Array {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : count, 8);
  end.writeUInt16LE(zip64 ? 0xffff : count, 10);
  end.writeUInt32LE(zip64 ? LIMIT : directoryBytes, 12);
  end.writeUInt32LE(zip64 ? LIMIT : directoryOffset, 16);
  if (!zip64) return end;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(directoryBytes), 40);
  record.writeBigUInt64LE(BigInt(directoryOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(directoryOffset + directoryBytes), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([record, locator, end]);
}
