/**
 * Embeddings and the output head.
 *   embedding: Gather(table[rows, cols], ids) with a constant table (or GatherBlockQuantized); the role
 *              comes from where the ids come from: a graph input (token), positions (Range, CumSum, a
 *              constant 0..n-1), anything else (token type, …)
 *   LM head:   the last product before a graph output (through Reshape, Cast, bias, soft-capping)
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';
import { constantTensor, tensorNumbers } from './constants.js';
import { qualifiedOp, weightOf, type Linear } from './linear.js';
import { walkBack } from './walk.js';

export interface Embedding {
  readonly node: Node;
  readonly op: string;
  readonly role: 'token' | 'position' | 'other';
  readonly rows: number;
  readonly cols: number;
  readonly table: Tensor;
}

export interface LmHead {
  readonly linear: Linear;
  /** The head reuses the token embedding table. */
  readonly tied: boolean;
}

export function findEmbeddings(graph: Graph): Embedding[] {
  const out: Embedding[] = [];
  for (const node of graph.nodes) {
    const op = qualifiedOp(node);
    if (op !== 'Gather' && op !== 'com.microsoft.GatherBlockQuantized') continue;
    const w = weightOf(node.inputs[0]);
    const ids = node.inputs[1];
    if (!w || !ids || w.dims.length !== 2 || constantTensor(ids) || node.getInt('axis', 0) !== 0) continue;
    const cols = op === 'Gather' ? w.dims[1]! : logicalCols(node, w.tensor);
    out.push({ node, op, role: roleOf(ids), rows: w.dims[0]!, cols, table: w.tensor });
  }
  return out;
}

/** GatherBlockQuantized packs 8/bits codes per byte in uint8 storage. */
function logicalCols(node: Node, t: Tensor): number {
  const stored = t.dims[1] ?? 0;
  const bits = node.getInt('bits', 4);
  return t.dtype === DType.UINT8 ? (stored * 8) / bits : stored;
}

/** Ops ids pass through on their way from the graph input to the Gather. */
const ID_PATH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity', 'Expand']);

function roleOf(ids: Value): Embedding['role'] {
  const walk = walkBack(ids, { stop: (n) => !ID_PATH.has(n.opType), limit: 16 });
  const source = walk.stops[0];
  if (!source && (ids.isGraphInput || walk.nodes.some((n) => n.inputs[0]?.isGraphInput))) return 'token';
  if (!source) return 'other';
  if (source.opType === 'Range' || source.opType === 'CumSum' || source.opType === 'Sub' || source.opType === 'Add') return 'position';
  if (source.opType === 'Slice' && isArange(constantTensor(source.inputs[0]))) return 'position';
  return 'other';
}

/** A constant 0, 1, 2, …: a position-id buffer. */
function isArange(t: Tensor | undefined): boolean {
  if (!t || t.elementCount < 2 || t.elementCount > 1 << 20) return false;
  const values = tensorNumbers(t);
  return !!values && values.every((v, i) => v === i);
}

/** Ops between the head's product and the graph output. */
const HEAD_PATH = new Set(['Reshape', 'Cast', 'Identity', 'Add', 'Mul', 'Div', 'Tanh', 'Squeeze', 'Unsqueeze', 'Transpose', 'Slice', 'Gather']);

export function findLmHead(graph: Graph, linears: ReadonlyMap<Node, Linear>, embeddings: readonly Embedding[]): LmHead | undefined {
  for (const out of graph.outputs) {
    const walk = walkBack(out, { stop: (n) => linears.has(n) || !HEAD_PATH.has(n.opType), limit: 16 });
    const linear = walk.stops.map((n) => linears.get(n)).find((l): l is Linear => !!l);
    if (!linear) continue;
    const token = embeddings.find((e) => e.role === 'token');
    return { linear, tied: !!token && !!linear.weight && (sameStorage(token.table, linear.weight) || sameValues(token.table, linear.weight)) };
  }
  return undefined;
}

/** Two tensors holding the same bytes object (a shared initializer, or one read from the same place). */
function sameStorage(a: Tensor, b: Tensor): boolean {
  if (a === b) return true;
  const x = a.byteSource;
  const y = b.byteSource;
  if (!x || !y) return false;
  if (x.external && y.external) return x.external.location === y.external.location && x.external.offset === y.external.offset;
  return a.hasBytes && b.hasBytes && a.byteLength === b.byteLength && a.bytes() === b.bytes();
}

/** Elements compared at most: a copy of a larger table is not read just to tell. */
const MAX_COMPARED = 1 << 24;

/** The head weight holds the table's values, as is ([rows, cols]) or transposed ([cols, rows]). */
function sameValues(table: Tensor, head: Tensor): boolean {
  const [rows, cols] = table.dims;
  if (rows === undefined || cols === undefined || table.dtype !== head.dtype || head.dims.length !== 2) return false;
  if (table.elementCount > MAX_COMPARED || !table.hasBytes || !head.hasBytes) return false;
  const width = table.byteLength / table.elementCount;
  if (!Number.isInteger(width) || width < 1) return false;
  const a = table.bytes();
  const b = head.bytes();
  if (head.dims[0] === rows && head.dims[1] === cols && Buffer.compare(a, b) === 0) return true;
  if (head.dims[0] !== cols || head.dims[1] !== rows) return false;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = (r * cols + c) * width;
      const y = (c * rows + r) * width;
      for (let k = 0; k < width; k++) if (a[x + k] !== b[y + k]) return false;
    }
  }
  return true;
}
