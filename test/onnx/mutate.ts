/**
 * Seeded mutations of model bytes. Raw ones (bit flips, overwrites, truncation, inserted, deleted or
 * duplicated bytes, corrupted length prefixes and tags) mostly test the decoder; structural ones keep the
 * wire format valid (dropped, repeated or grafted fields, odd varints, odd names) and so reach the reader.
 * Every mutation describes itself so that a failing case can be read and replayed.
 */
import { mulberry32 } from '../../src/runtime/feeds.js';
import { concat, scanFields, splice, varint, type Field } from './wire.js';

export class Random {
  private readonly next: () => number;
  constructor(seed: number) { this.next = mulberry32(seed); }
  float(): number { return this.next(); }
  /** 0 <= n < max */
  int(max: number): number { return Math.floor(this.next() * max); }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
  bytes(n: number): Uint8Array { return Uint8Array.from({ length: n }, () => this.int(256)); }
}

export interface Mutation {
  readonly bytes: Uint8Array;
  readonly what: string;
}

type Mutator = (b: Uint8Array, r: Random) => Mutation | undefined;

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff];
/** Varints that hit limits: type ids, proto enum edges, 2^31, 2^32, 2^53, 2^63, -1 (ten bytes). */
const INTERESTING_VARINTS = [0n, 1n, 2n, 7n, 8n, 11n, 13n, 14n, 16n, 99n, 127n, 128n, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 63n)];
/** Names that collide with object keys, break lines, or point external data elsewhere (see corpus.ts). */
const ODD_STRINGS = ['', '__proto__', 'constructor', 'hasOwnProperty', 'a\nb', 'x'.repeat(300), '\u0000', '\u{1F600}',
  '..', '/etc/passwd', 'weights.bin', 'sub', 'link', 'link/x', 'location', 'offset', 'length', '-1', '1e3', '0x10'];

const fieldsOf = (b: Uint8Array, keep: (f: Field) => boolean = () => true) => scanFields(b).filter(keep);
const text = (s: string) => new TextEncoder().encode(s);
const show = (s: string) => JSON.stringify(s.length > 24 ? `${s.slice(0, 24)}...(${s.length})` : s);

const raw: Record<string, Mutator> = {
  'flip-bits': (b, r) => {
    const out = b.slice();
    const flips = Array.from({ length: 1 + r.int(4) }, () => [r.int(b.byteLength), 1 << r.int(8)] as const);
    for (const [at, bit] of flips) out[at]! ^= bit;
    return { bytes: out, what: `flip ${flips.map(([at, bit]) => `@${at}^${bit}`).join(',')}` };
  },
  overwrite: (b, r) => {
    const at = r.int(b.byteLength);
    const n = 1 + r.int(8);
    const values = r.float() < 0.5 ? r.bytes(n) : Uint8Array.from({ length: n }, () => r.pick(INTERESTING_BYTES));
    const out = b.slice();
    out.set(values.subarray(0, b.byteLength - at), at);
    return { bytes: out, what: `overwrite @${at} [${[...values]}]` };
  },
  truncate: (b, r) => {
    const at = r.int(b.byteLength);
    return { bytes: b.slice(0, at), what: `truncate to ${at}` };
  },
  insert: (b, r) => {
    const at = r.int(b.byteLength + 1);
    const values = r.bytes(1 + r.int(16));
    return { bytes: concat(b.subarray(0, at), values, b.subarray(at)), what: `insert @${at} [${[...values]}]` };
  },
  delete: (b, r) => {
    const at = r.int(b.byteLength);
    const n = 1 + r.int(16);
    return { bytes: concat(b.subarray(0, at), b.subarray(at + n)), what: `delete @${at}+${n}` };
  },
  'duplicate-range': (b, r) => {
    const from = r.int(b.byteLength);
    const n = 1 + r.int(Math.min(64, b.byteLength - from));
    const at = r.int(b.byteLength + 1);
    return { bytes: concat(b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)), what: `copy @${from}+${n} to @${at}` };
  },
  /** A length prefix changed without fixing the messages around it. */
  'length-prefix': (b, r) => {
    const fields = fieldsOf(b, (f) => f.wire === 2);
    if (!fields.length) return undefined;
    const f = r.pick(fields);
    const old = BigInt(f.end - f.dataAt);
    const len = r.float() < 0.5 ? old + BigInt(r.int(9) - 4) : r.pick(INTERESTING_VARINTS);
    return { bytes: concat(b.subarray(0, f.valueAt), varint(len), b.subarray(f.dataAt)), what: `length of field ${f.id} @${f.tagAt}: ${old} -> ${len}` };
  },
  /** A tag with another wire type or field number. */
  tag: (b, r) => {
    const f = r.pick(fieldsOf(b));
    if (!f) return undefined;
    const [id, wire] = r.float() < 0.5 ? [f.id, r.int(8)] : [r.pick([1, 2, 5, 7, 8, 15, 16, 20, 25, 99, 0x1fffffff]), f.wire];
    const tag = varint((BigInt(id) << 3n) | BigInt(wire));
    return { bytes: concat(b.subarray(0, f.tagAt), tag, b.subarray(f.valueAt)), what: `tag @${f.tagAt}: ${f.id}/${f.wire} -> ${id}/${wire}` };
  },
};

const structural: Record<string, Mutator> = {
  'drop-field': (b, r) => {
    const f = r.pick(fieldsOf(b));
    return f && { bytes: splice(b, f.parent, f.tagAt, f.end, new Uint8Array()), what: `drop field ${f.id} @${f.tagAt}` };
  },
  'repeat-field': (b, r) => {
    const f = r.pick(fieldsOf(b));
    return f && { bytes: splice(b, f.parent, f.end, f.end, b.slice(f.tagAt, f.end)), what: `repeat field ${f.id} @${f.tagAt}` };
  },
  /** A field copied into another message: a tensor where a graph belongs, a node in a type, ... */
  'graft-field': (b, r) => {
    const f = r.pick(fieldsOf(b));
    const into = r.pick(fieldsOf(b, (g) => g.nested));
    if (!f || !into) return undefined;
    return { bytes: splice(b, into, into.end, into.end, b.slice(f.tagAt, f.end)), what: `graft field ${f.id} @${f.tagAt} into field ${into.id} @${into.tagAt}` };
  },
  'set-varint': (b, r) => {
    const f = r.pick(fieldsOf(b, (g) => g.wire === 0));
    if (!f) return undefined;
    const v = r.float() < 0.8 ? r.pick(INTERESTING_VARINTS) : BigInt(r.int(1 << 16));
    return { bytes: splice(b, f.parent, f.valueAt, f.end, varint(v)), what: `varint field ${f.id} @${f.tagAt} := ${v}` };
  },
  'set-fixed': (b, r) => {
    const f = r.pick(fieldsOf(b, (g) => g.wire === 1 || g.wire === 5));
    if (!f) return undefined;
    const bytes = r.float() < 0.5 ? r.bytes(f.end - f.valueAt) : new Uint8Array(f.end - f.valueAt).fill(0xff);
    return { bytes: splice(b, f.parent, f.valueAt, f.end, bytes), what: `fixed field ${f.id} @${f.tagAt} := [${[...bytes]}]` };
  },
  /** A payload replaced: by an odd string, random bytes, or another field's payload (names that collide). */
  'set-bytes': (b, r) => {
    const fields = fieldsOf(b, (g) => g.wire === 2);
    const f = r.pick(fields);
    if (!f) return undefined;
    const choice = r.int(3);
    const other = r.pick(fields.filter((g) => !g.nested));
    const [payload, what] = choice === 0 ? [text(r.pick(ODD_STRINGS)), ''] : choice === 1 || !other ? [r.bytes(r.int(17)), ''] : [b.slice(other.dataAt, other.end), ` (payload of @${other.tagAt})`];
    const shown = what || (choice === 0 ? ` ${show(new TextDecoder().decode(payload))}` : ` [${[...payload]}]`);
    return { bytes: splice(b, f, f.dataAt, f.end, payload), what: `bytes of field ${f.id} @${f.tagAt} :=${shown}` };
  },
};

export const MUTATORS: Readonly<Record<string, Mutator>> = { ...raw, ...structural };
const NAMES = Object.keys(MUTATORS);

/** One to three mutations in a row, all drawn from `r`. */
export function mutate(bytes: Uint8Array, r: Random): Mutation {
  let current: Mutation = { bytes, what: '' };
  const steps = 1 + (r.float() < 0.7 ? 0 : r.int(3));
  const done: string[] = [];
  for (let i = 0; i < steps && current.bytes.byteLength > 0; i++) {
    const name = r.pick(NAMES);
    const next = MUTATORS[name]!(current.bytes, r);
    if (!next) continue;
    current = next;
    done.push(`${name}: ${next.what}`);
  }
  return { bytes: current.bytes, what: done.join(' | ') || 'none' };
}
