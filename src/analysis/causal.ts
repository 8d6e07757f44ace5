/**
 * Evidence that attention is causal (a decoder), found in the computation rather than in names:
 *   - a Trilu (triangular mask)
 *   - a comparison of two position tensors: LessOrEqual(kv_pos, q_pos) with both sides made from Range
 *     or CumSum (a comparison with a constant, as a padding check, does not count)
 *   - a constant lower-triangular mask table (GPT-2's `bias` buffer), read when small
 *   - a fused op that says so (GroupQueryAttention, unidirectional=1, is_causal=1)
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';
import { constantTensor, isConstant } from './constants.js';
import { dataInputs } from './walk.js';

const COMPARISONS = new Set(['Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']);

/** A short reason per kind of evidence found (empty: none). */
export function causalEvidence(graph: Graph): string[] {
  const found = new Set<string>();
  for (const node of graph.nodes) {
    if (node.opType === 'Trilu') found.add('triangular mask (Trilu)');
    else if (COMPARISONS.has(node.opType) && comparesPositions(node)) found.add('causal mask (position comparison)');
    else if (node.opType === 'Slice' && isLowerTriangular(constantTensor(node.inputs[0]))) found.add('causal mask (triangular table)');
  }
  return [...found];
}

function comparesPositions(node: Node): boolean {
  const [a, b] = node.inputs;
  return !!a && !!b && !isConstant(a) && !isConstant(b) && fromPositions(a, 0, new Set()) && fromPositions(b, 0, new Set());
}

/** The value is computed from a Range or CumSum (positions), through reshapes and offsets. */
function fromPositions(v: Value, depth: number, seen: Set<Node>): boolean {
  const p = v.producer;
  if (!p || depth > 12 || seen.has(p)) return false;
  seen.add(p);
  if (p.opType === 'Range' || p.opType === 'CumSum') return true;
  return dataInputs(p).some((i) => fromPositions(i, depth + 1, seen));
}

/** A [.., n, n] table with ones on and below the diagonal and zeros above (bool, uint8 or float). */
function isLowerTriangular(t: Tensor | undefined): boolean {
  if (!t || t.dims.length < 2 || !t.hasBytes) return false;
  const n = t.dims.at(-1)!;
  if (n < 2 || t.dims.at(-2) !== n || t.elementCount > 1 << 22) return false;
  if (t.dtype !== DType.BOOL && t.dtype !== DType.UINT8 && t.dtype !== DType.FLOAT) return false;
  const data = t.toTyped();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = Number(data[i * n + j]);
      if ((j <= i) !== (v !== 0)) return false;
    }
  }
  return true;
}
