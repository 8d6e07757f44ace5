/**
 * Reading and slicing the weights of one linear layer. A layer computes y = x·W (+ b) with W logically
 * [K × N]; the stored tensor is [K, N] (MatMul, Gemm, com.microsoft Attention's packed projection), or [N, K]
 * behind Gemm's transB or a Transpose (the
 * [out, in] layout some exporters keep). Structured pruning keeps a subset of W's columns (the layer's
 * outputs, with the bias) or of its rows (the layer's inputs).
 */
import type { Linear } from '../../../src/analysis/linear.js';
import { constantTensor } from '../../../src/analysis/constants.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { ConfigError } from '../../../src/errors.js';

export interface WeightSlot {
  /** The node input that reads the stored tensor (the linear node itself or a Transpose before it). */
  readonly reader: Node;
  readonly index: number;
  readonly value: Value;
  /** Stored as [N, K]. */
  readonly transposed: boolean;
  readonly k: number;
  readonly n: number;
}

/** Where a float32 weight is stored; a ConfigError names the layer when its form is not one we can slice. */
export function weightSlot(l: Linear): WeightSlot {
  const node = l.node;
  // com.microsoft Attention keeps its packed [hidden, Q | K | V] weight as input 1, like MatMul.
  const attention = node.opType === 'Attention' && node.domain === 'com.microsoft';
  if (node.opType !== 'MatMul' && node.opType !== 'Gemm' && !attention) throw unsupported(l, `${node.opType} layers are not sliced`);
  const transB = node.opType === 'Gemm' && node.getInt('transB', 0) === 1;
  if (node.opType === 'Gemm' && node.getInt('transA', 0) === 1) throw unsupported(l, 'Gemm with transA');
  let reader = node;
  let index = 1;
  let value = node.inputs[1];
  let transposed = transB;
  const p = value?.producer;
  if (p?.opType === 'Transpose' && p.domain === '') {
    const perm = p.getInts('perm');
    if (perm && !(perm[0] === 1 && perm[1] === 0)) throw unsupported(l, 'a weight Transpose that is not [1, 0]');
    reader = p;
    index = 0;
    value = p.inputs[0];
    transposed = !transposed;
  }
  const t = value?.initializer;
  if (!value || !t || t.dtype !== DType.FLOAT || t.dims.length !== 2) throw unsupported(l, 'the weight is not a float32 initializer');
  const [k, n] = transposed ? [t.dims[1]!, t.dims[0]!] : [t.dims[0]!, t.dims[1]!];
  return { reader, index, value, transposed, k, n };
}

function unsupported(l: Linear, why: string): ConfigError {
  return new ConfigError(`structured pruning cannot slice '${l.node.name}': ${why}`);
}

/** W as a row-major [K × N] float32 copy (logical layout). */
export function logicalWeight(slot: WeightSlot): Float32Array {
  const w = slot.value.initializer!.toFloat32();
  if (!slot.transposed) return Float32Array.from(w);
  const out = new Float32Array(slot.k * slot.n);
  for (let r = 0; r < slot.n; r++) for (let c = 0; c < slot.k; c++) out[c * slot.n + r] = w[r * slot.k + c]!;
  return out;
}

/** Stores a logical [K × N] matrix back in the slot's layout (a new tensor when the old one is shared). */
export function storeWeight(slot: WeightSlot, w: Float32Array, k: number, n: number): void {
  let stored = w;
  if (slot.transposed) {
    stored = new Float32Array(k * n);
    for (let c = 0; c < k; c++) for (let r = 0; r < n; r++) stored[r * k + c] = w[c * n + r]!;
  }
  replaceConstant(slot.reader, slot.index, stored, slot.transposed ? [n, k] : [k, n]);
}

/** Keeps the listed columns (outputs) of W, and of the bias when the layer has one. */
export function keepColumns(l: Linear, keep: readonly number[]): void {
  const slot = weightSlot(l);
  const w = logicalWeight(slot);
  const out = new Float32Array(slot.k * keep.length);
  for (let r = 0; r < slot.k; r++) keep.forEach((c, j) => { out[r * keep.length + j] = w[r * slot.n + c]!; });
  storeWeight(slot, out, slot.k, keep.length);
  const bias = biasOf(l, slot.n);
  if (bias) {
    const b = constantTensor(bias.node.inputs[bias.index])!.toFloat32();
    replaceConstant(bias.node, bias.index, Float32Array.from(keep, (c) => b[c]!), [keep.length]);
  }
}

/** Keeps the listed rows (inputs) of W; `rows` replaces them when given (a refit), [keep.length × N]. */
export function keepRows(l: Linear, keep: readonly number[], rows?: Float32Array): void {
  const slot = weightSlot(l);
  let out = rows;
  if (!out) {
    const w = logicalWeight(slot);
    out = new Float32Array(keep.length * slot.n);
    keep.forEach((r, i) => out!.set(w.subarray(r * slot.n, (r + 1) * slot.n), i * slot.n));
  }
  storeWeight(slot, out, keep.length, slot.n);
}

/** Adds `bias` [N] to the layer's output: into its bias when it has one, else through a new Add after it. */
export function addOutputBias(l: Linear, bias: Float32Array): void {
  const n = bias.length;
  const own = biasOf(l, n);
  if (own) {
    const b = constantTensor(own.node.inputs[own.index])!.toFloat32();
    replaceConstant(own.node, own.index, Float32Array.from(b, (x, i) => x + bias[i]!), [n]);
    return;
  }
  const g = l.node.graph;
  const out = l.output;
  const readers = new Set(out.consumers());
  const hint = `${l.node.name}_bias`;
  const constant = g.addConstant(hint, Tensor.fromTyped(hint, DType.FLOAT, [n], Float32Array.from(bias)));
  const add = g.addNode({ opType: 'Add', inputs: [out, constant], before: g.nodes.find((x) => readers.has(x)) });
  const sum = add.output(0);
  if (out.type) sum.type = out.type;
  out.replaceAllUsesWith(sum);
  add.setInput(0, out);
}

/**
 * The bias of a layer: Gemm's C, com.microsoft Attention's packed bias, the bias of a BiasGelu/FastGelu that
 * reads the product, or an Add of a constant [N] right after it.
 */
export function biasOf(l: Linear, n: number): { node: Node; index: number } | undefined {
  const is = (v: Value | null | undefined) => constantTensor(v)?.dims.length === 1 && constantTensor(v)!.dims[0] === n && constantTensor(v)!.dtype === DType.FLOAT;
  if (l.node.opType === 'Gemm' || (l.node.opType === 'Attention' && l.node.domain === 'com.microsoft')) {
    return is(l.node.inputs[2]) ? { node: l.node, index: 2 } : undefined;
  }
  const readers = l.output.consumers();
  const reader = readers.length === 1 ? readers[0]! : undefined;
  // com.microsoft BiasGelu / FastGelu add their input 1 to the product before the activation.
  if (reader?.domain === 'com.microsoft' && (reader.opType === 'BiasGelu' || reader.opType === 'FastGelu')) {
    return reader.inputs[0] === l.output && is(reader.inputs[1]) ? { node: reader, index: 1 } : undefined;
  }
  if (reader?.opType !== 'Add') return undefined;
  const index = reader.inputs.findIndex((v) => v !== l.output && is(v));
  return index >= 0 ? { node: reader, index } : undefined;
}

/** Points `node.inputs[index]` at a float32 constant with these contents (in place when nothing else reads it). */
export function replaceConstant(node: Node, index: number, data: Float32Array, dims: readonly number[]): void {
  const old = node.inputs[index];
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (old?.initializer && old.uses.length === 1 && !old.isGraphOutput && !old.isGraphInput) {
    old.initializer.setBytes(bytes, dims, DType.FLOAT);
    return;
  }
  const hint = old?.name ?? `${node.name}_weight`;
  const fresh = node.graph.addConstant(`${hint}_pruned`, Tensor.fromTyped(hint, DType.FLOAT, dims, data));
  node.setInput(index, fresh);
  if (old?.initializer && old.isUnused && !old.isGraphInput) node.graph.removeInitializer(old);
}

/** ‖column c‖₂ of W (logical [K × N]) for every c. */
export function columnNorms(w: Float32Array, k: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) out[c]! += w[r * n + c]! ** 2;
  return out.map(Math.sqrt);
}

/** ‖row r‖₂ of W (logical [K × N]) for every r. */
export function rowNorms(w: Float32Array, k: number, n: number): Float64Array {
  const out = new Float64Array(k);
  for (let r = 0; r < k; r++) {
    let s = 0;
    for (let c = 0; c < n; c++) s += w[r * n + c]! ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}
