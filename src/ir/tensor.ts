/**
 * Tensors stay bytes: an initializer is {dtype, dims, bytes} where the bytes are a zero-copy view of the
 * decoded file, a reference to external data read on demand, or (rarely) typed proto fields converted
 * when a pass asks. A tensor becomes a typed array only inside the pass that reads it.
 */
import { byteLength, DType, dtypeName, elementCount } from './dtype.js';
import { InvariantError } from '../errors.js';

/** Where the raw little-endian bytes of a tensor live. */
export interface ByteSource {
  readonly byteLength: number;
  /** The whole tensor; a view where the bytes are already in memory, a fresh read otherwise. */
  read(): Uint8Array;
  /** Streams the bytes in pieces of at most `chunk` bytes (bounded memory for very large tensors). */
  chunks(chunk: number): Iterable<Uint8Array>;
  /** For messages: "inline", "model.data@1024+4096". */
  describe(): string;
  /** External-data placement this source came from, when it came from a file. */
  readonly external?: ExternalPlacement;
}

export interface ExternalPlacement {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

export class InlineBytes implements ByteSource {
  constructor(readonly bytes: Uint8Array) {}
  get byteLength(): number { return this.bytes.byteLength; }
  read(): Uint8Array { return this.bytes; }
  *chunks(chunk: number): Iterable<Uint8Array> {
    for (let at = 0; at < this.bytes.byteLength; at += chunk) yield this.bytes.subarray(at, at + chunk);
  }
  describe(): string { return 'inline'; }
}

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export class Tensor {
  /** Set when the bytes or shape were replaced; unchanged tensors are written back exactly as read. */
  modified = false;

  constructor(
    public name: string,
    public dtype: number,
    public dims: number[],
    private source: ByteSource | undefined,
    /** Opaque original message (string tensors, typed-field storage, doc strings, unknown fields). */
    readonly original?: unknown,
  ) {}

  static fromBytes(name: string, dtype: number, dims: readonly number[], bytes: Uint8Array): Tensor {
    const expected = byteLength(dtype, elementCount(dims));
    if (bytes.byteLength !== expected) {
      throw new InvariantError(`tensor '${name}': ${bytes.byteLength} bytes for ${dtypeName(dtype)}[${dims.join(',')}] (expected ${expected})`);
    }
    const t = new Tensor(name, dtype, [...dims], new InlineBytes(bytes));
    t.modified = true;
    return t;
  }

  static fromTyped(name: string, dtype: number, dims: readonly number[], data: TypedArray): Tensor {
    return Tensor.fromBytes(name, dtype, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  get elementCount(): number { return elementCount(this.dims); }

  /** Raw bytes are available (false for string tensors). */
  get hasBytes(): boolean { return this.source !== undefined; }

  get byteLength(): number { return this.source?.byteLength ?? 0; }

  get byteSource(): ByteSource | undefined { return this.source; }

  bytes(): Uint8Array {
    if (!this.source) throw new InvariantError(`tensor '${this.name}' (${dtypeName(this.dtype)}) has no raw byte form`);
    return this.source.read();
  }

  /** Replaces the contents (and optionally the shape); the tensor will be written from these bytes. */
  setBytes(bytes: Uint8Array, dims: readonly number[] = this.dims, dtype: number = this.dtype): void {
    const expected = byteLength(dtype, elementCount(dims));
    if (bytes.byteLength !== expected) {
      throw new InvariantError(`tensor '${this.name}': ${bytes.byteLength} bytes for ${dtypeName(dtype)}[${dims.join(',')}]`);
    }
    this.source = new InlineBytes(bytes);
    this.dims = [...dims];
    this.dtype = dtype;
    this.modified = true;
  }

  /** A typed view (copied only when the bytes are misaligned). Throws for types without a JS array. */
  toTyped(): TypedArray {
    const bytes = this.bytes();
    const ctor = typedArrayFor(this.dtype);
    if (!ctor) throw new InvariantError(`tensor '${this.name}': no typed array for ${dtypeName(this.dtype)}`);
    const width = ctor.BYTES_PER_ELEMENT;
    // Buffer.slice is a view, not a copy: copy through the Uint8Array constructor.
    const aligned = bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes);
    return new ctor(aligned.buffer, aligned.byteOffset, aligned.byteLength / width);
  }

  /** Float32 copy/view of a float32 tensor, for math in passes. */
  toFloat32(): Float32Array {
    if (this.dtype !== DType.FLOAT) throw new InvariantError(`tensor '${this.name}' is ${dtypeName(this.dtype)}, not float`);
    return this.toTyped() as Float32Array;
  }

  /** Integer values as JS numbers (for shape-like int64/int32 tensors; small tensors only). */
  toNumbers(): number[] {
    const typed = this.toTyped();
    return Array.from(typed as ArrayLike<number | bigint>, (v) => Number(v));
  }
}

type TypedCtor = { new (buffer: ArrayBufferLike, offset: number, length: number): TypedArray; BYTES_PER_ELEMENT: number };

export function typedArrayFor(dtype: number): TypedCtor | undefined {
  const table: Record<number, TypedCtor> = {
    [DType.FLOAT]: Float32Array, [DType.DOUBLE]: Float64Array, [DType.INT8]: Int8Array, [DType.UINT8]: Uint8Array,
    [DType.BOOL]: Uint8Array, [DType.INT16]: Int16Array, [DType.UINT16]: Uint16Array, [DType.FLOAT16]: Uint16Array,
    [DType.BFLOAT16]: Uint16Array, [DType.INT32]: Int32Array, [DType.UINT32]: Uint32Array,
    [DType.INT64]: BigInt64Array, [DType.UINT64]: BigUint64Array,
  };
  return table[dtype];
}
