/**
 * The safetensors layout: an 8-byte little-endian header length N, N bytes of JSON (per tensor its dtype,
 * shape and [begin, end) byte offsets into the data that follows; `__metadata__` holds string pairs), padded
 * with spaces to a multiple of 8, then the tensors' raw bytes back to back. Everything is known up front.
 */
import { byteSize, type ArraySpec, type Container, type Placement } from './array-file.js';

const DTYPE = { float32: 'F32', int64: 'I64', int32: 'I32' } as const;

export function safetensorsContainer(specs: readonly ArraySpec[], metadata: Readonly<Record<string, string>> = {}): Container {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let at = 0;
  for (const s of specs) {
    const size = byteSize(s);
    header[s.name] = { dtype: DTYPE[s.dtype], shape: [...s.shape], data_offsets: [at, at + size] };
    at += size;
  }
  const json = JSON.stringify(header);
  const text = Buffer.from(json + ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8), 'utf8');
  const head = Buffer.alloc(8 + text.byteLength);
  head.writeBigUInt64LE(BigInt(text.byteLength), 0);
  text.copy(head, 8);
  let offset = head.byteLength;
  const placements: Placement[] = specs.map((spec) => {
    const p = { spec, dataOffset: offset, dataBytes: byteSize(spec), written: 0, crc: 0 };
    offset += p.dataBytes;
    return p;
  });
  return { prologue: [{ offset: 0, bytes: head }], placements, totalBytes: offset, epilogue: () => [] };
}
