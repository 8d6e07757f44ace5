/**
 * Parameters: every constant tensor of the model (initializers and Constant nodes, in all graphs), counted
 * once each, by element type.
 *
 * How quantized weights are counted: by their logical number of weights, not by storage. A MatMulNBits
 * weight of K×N counts K·N (stored packed, `bits` per weight, in uint8 blocks); a GatherBlockQuantized
 * table counts its rows × logical columns; INT4/UINT4 tensors count their elements (two per byte). Their
 * scales and zero points are quantization metadata: listed apart, not counted as parameters, but their
 * bytes are in the total.
 */
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { DType, dtypeName } from '../ir/dtype.js';
import { qualifiedOp } from './linear.js';
import { constantTensor } from './constants.js';

export interface DtypeCount {
  /** Element type as counted: `float32`, `int4`; `uint4` for MatMulNBits packed 4-bit weights. */
  readonly dtype: string;
  readonly tensors: number;
  readonly elements: number;
  readonly bytes: number;
}

export interface ParameterSummary {
  /** Logical parameters (weights), quantization metadata excluded. */
  readonly total: number;
  /** Bytes of every constant tensor, metadata included. */
  readonly bytes: number;
  readonly byDtype: readonly DtypeCount[];
  /** Weights stored quantized (a part of `total`), and how. */
  readonly quantized: { readonly tensors: number; readonly elements: number; readonly bytes: number; readonly formats: readonly string[] };
  /** Scales and zero points of quantized tensors. */
  readonly quantizationMetadata: { readonly tensors: number; readonly elements: number; readonly bytes: number };
  /** Sparse initializers are not counted (their element count is not read). */
  readonly sparseInitializers: number;
}

type Role = { kind: 'metadata' } | { kind: 'packed'; elements: number; dtype: string; format: string } | { kind: 'quantized'; format: string };

/** Input slots holding scales/zero points, per op. */
const METADATA_SLOTS: Readonly<Record<string, readonly number[]>> = {
  DequantizeLinear: [1, 2], QuantizeLinear: [1, 2], MatMulInteger: [2, 3], ConvInteger: [2, 3],
  QLinearMatMul: [1, 2, 4, 5, 6, 7], QLinearConv: [1, 2, 4, 5, 6, 7],
  'com.microsoft.MatMulNBits': [2, 3, 4], 'com.microsoft.GatherBlockQuantized': [2, 3],
  'com.microsoft.DynamicQuantizeMatMul': [2, 3], 'com.microsoft.MatMulIntegerToFloat': [2, 3, 4, 5],
  'com.microsoft.QAttention': [3, 4, 6, 7],
};
/** Input slots holding integer weights, per op. */
const QUANTIZED_SLOTS: Readonly<Record<string, number>> = {
  DequantizeLinear: 0, MatMulInteger: 1, QLinearMatMul: 3, 'com.microsoft.DynamicQuantizeMatMul': 1,
  'com.microsoft.MatMulIntegerToFloat': 1, 'com.microsoft.QAttention': 1,
};

export function countParameters(model: Model): ParameterSummary {
  const roles = tensorRoles(model);
  const byDtype = new Map<string, { tensors: number; elements: number; bytes: number }>();
  const quantized = { tensors: 0, elements: 0, bytes: 0, formats: new Set<string>() };
  const meta = { tensors: 0, elements: 0, bytes: 0 };
  let sparse = 0;
  for (const { tensor, readers } of constants(model)) {
    const role = roleOf(readers, roles);
    if (role?.kind === 'metadata') { add(meta, tensor.elementCount, tensor.byteLength); continue; }
    const dtype = role?.kind === 'packed' ? role.dtype : dtypeName(tensor.dtype);
    const elements = role?.kind === 'packed' ? role.elements : tensor.elementCount;
    const row = byDtype.get(dtype) ?? { tensors: 0, elements: 0, bytes: 0 };
    byDtype.set(dtype, add(row, elements, tensor.byteLength));
    if (role) { add(quantized, elements, tensor.byteLength); quantized.formats.add(role.format); }
  }
  for (const g of model.graph.graphsDeep()) for (const v of g.ownValues()) if (v.sparseInitializer) sparse++;
  const rows = [...byDtype].map(([dtype, r]) => ({ dtype, ...r })).sort((a, b) => b.bytes - a.bytes || a.dtype.localeCompare(b.dtype));
  return {
    total: rows.reduce((n, r) => n + r.elements, 0),
    bytes: rows.reduce((n, r) => n + r.bytes, 0) + meta.bytes,
    byDtype: rows,
    quantized: { tensors: quantized.tensors, elements: quantized.elements, bytes: quantized.bytes, formats: [...quantized.formats].sort() },
    quantizationMetadata: meta,
    sparseInitializers: sparse,
  };
}

function add<T extends { tensors: number; elements: number; bytes: number }>(row: T, elements: number, bytes: number): T {
  row.tensors++;
  row.elements += elements;
  row.bytes += bytes;
  return row;
}

interface ConstantUse { readonly tensor: Tensor; readonly readers: readonly { node: Node; index: number }[] }

/** Every constant tensor once, with the node inputs that read it. */
function* constants(model: Model): Iterable<ConstantUse> {
  for (const g of model.graph.graphsDeep()) {
    for (const v of g.initializers) if (v.initializer) yield { tensor: v.initializer, readers: v.uses };
    for (const n of g.nodes) {
      if (n.opType !== 'Constant' || n.domain !== '') continue;
      const t = n.attr('value');
      const out = n.outputs[0];
      if (t?.type === 'tensor') yield { tensor: t.value, readers: out?.uses ?? [] };
    }
  }
}

type Roles = Map<Node, Map<number, Role>>;

/** A constant is metadata when every reader takes it as a scale or zero point. */
function roleOf(readers: ConstantUse['readers'], roles: Roles): Role | undefined {
  if (!readers.length) return undefined;
  const found = readers.map((r) => roles.get(r.node)?.get(r.index));
  if (found.every((r) => r?.kind === 'metadata')) return { kind: 'metadata' };
  return found.find((r) => r?.kind === 'packed') ?? found.find((r) => r?.kind === 'quantized');
}

/** The role of each (node, input) slot that reads quantized data or metadata. */
function tensorRoles(model: Model): Roles {
  const roles: Roles = new Map();
  const set = (n: Node, i: number, role: Role) => {
    const slots = roles.get(n) ?? new Map<number, Role>();
    roles.set(n, slots.set(i, role));
  };
  for (const n of model.graph.allNodes()) {
    const op = qualifiedOp(n);
    for (const i of METADATA_SLOTS[op] ?? []) set(n, i, { kind: 'metadata' });
    const q = QUANTIZED_SLOTS[op];
    if (q !== undefined) set(n, q, { kind: 'quantized', format: `${op} ${dtypeName(constantTensor(n.inputs[q])?.dtype ?? DType.UNDEFINED)}` });
    if (op === 'com.microsoft.MatMulNBits') set(n, 1, packedNBits(n));
    if (op === 'com.microsoft.GatherBlockQuantized') set(n, 0, packedGather(n));
  }
  return roles;
}

function packedNBits(n: Node): Role {
  const bits = n.getInt('bits', 4);
  const elements = n.getInt('K', 0) * n.getInt('N', 0);
  return { kind: 'packed', elements, dtype: `uint${bits}`, format: `MatMulNBits ${bits}-bit, block ${n.getInt('block_size', 0)}` };
}

function packedGather(n: Node): Role {
  const bits = n.getInt('bits', 4);
  const t = constantTensor(n.inputs[0]);
  const perByte = t?.dtype === DType.UINT8 ? 8 / bits : 1;
  return { kind: 'packed', elements: (t?.elementCount ?? 0) * perByte, dtype: `uint${bits}`, format: `GatherBlockQuantized ${bits}-bit` };
}
