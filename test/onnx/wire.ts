/**
 * A schema-free view of protobuf bytes for the fuzzer: every field with its position and enclosing
 * message, and a splice that keeps the enclosing length prefixes right (so a structural mutation stays
 * well-formed on the wire and reaches the model reader instead of the decoder).
 */

export interface Field {
  readonly tagAt: number;
  /** Field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  readonly id: number;
  readonly wire: number;
  /** Where the value starts: the varint, the fixed bytes or the length prefix. */
  readonly valueAt: number;
  /** Length-delimited: where the payload starts. */
  readonly dataAt: number;
  readonly end: number;
  /** The length-delimited field whose payload holds this one (undefined at the top level). */
  readonly parent: Field | undefined;
  /** Length-delimited payload that itself parses as fields (a nested message, or a string that looks like one). */
  nested: boolean;
}

const MAX_DEPTH = 40;

export function readVarint(b: Uint8Array, at: number, end: number): { value: bigint; next: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10 && at + i < end; i++) {
    const byte = b[at + i]!;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return { value, next: at + i + 1 };
  }
  return undefined;
}

export function varint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** Every field of the message in [start, end) and, recursively, of payloads that parse as messages. */
export function scanFields(b: Uint8Array, start = 0, end = b.byteLength): Field[] {
  const out: Field[] = [];
  scan(b, start, end, undefined, 0, out);
  return out;
}

function scan(b: Uint8Array, start: number, end: number, parent: Field | undefined, depth: number, out: Field[]): boolean {
  const found: Field[] = [];
  for (let p = start; p < end;) {
    const tag = readVarint(b, p, end);
    if (!tag || tag.value >> 3n === 0n || tag.value >> 3n > 0x1fffffffn) return false;
    const wire = Number(tag.value & 7n);
    const valueAt = tag.next;
    let dataAt = valueAt;
    let next: number;
    if (wire === 0) {
      const v = readVarint(b, valueAt, end);
      if (!v) return false;
      next = v.next;
    } else if (wire === 1 || wire === 5) {
      next = valueAt + (wire === 1 ? 8 : 4);
    } else if (wire === 2) {
      const len = readVarint(b, valueAt, end);
      if (!len || len.value > BigInt(end - len.next)) return false;
      dataAt = len.next;
      next = dataAt + Number(len.value);
    } else {
      return false; // groups (3, 4) do not occur in ONNX; 6 and 7 are invalid
    }
    if (next > end) return false;
    found.push({ tagAt: p, id: Number(tag.value >> 3n), wire, valueAt, dataAt, end: next, parent, nested: false });
    p = next;
  }
  out.push(...found);
  if (depth < MAX_DEPTH) {
    for (const f of found) if (f.wire === 2 && f.end > f.dataAt) f.nested = scan(b, f.dataAt, f.end, f, depth + 1, out);
  }
  return true;
}

/**
 * Replaces b[from, to) (inside `owner`'s payload, or at the top level when owner is undefined) with
 * `insert`, rewriting the length prefix of `owner` and of every message around it.
 */
export function splice(b: Uint8Array, owner: Field | undefined, from: number, to: number, insert: Uint8Array): Uint8Array {
  let lo = from, hi = to, piece = insert;
  for (let f = owner; f; f = f.parent) {
    const length = BigInt(f.end - f.dataAt - (hi - lo) + piece.byteLength);
    piece = concat(varint(length), b.subarray(f.dataAt, lo), piece, b.subarray(hi, f.end));
    lo = f.valueAt;
    hi = f.end;
  }
  return concat(b.subarray(0, lo), piece, b.subarray(hi));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}
